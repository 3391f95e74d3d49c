"""The contact form as the Wagtail documentation writes one: an AbstractEmailForm and its fields."""

from __future__ import annotations

from typing import Any

from django.db import models
from modelcluster.fields import ParentalKey
from wagtail.admin.mail import send_mail
from wagtail.contrib.forms.models import AbstractEmailForm, AbstractFormField
from wagtail.fields import RichTextField


class FormField(AbstractFormField):
    page = ParentalKey("FormPage", on_delete=models.CASCADE, related_name="form_fields")


class FormPage(AbstractEmailForm):
    intro = RichTextField(blank=True)
    thank_you_text = RichTextField(blank=True)

    def send_mail(self, form: Any) -> None:
        # The stock notification goes to the support desk (to_address); like many Wagtail sites,
        # this one also tells the customer, at the address they gave, that the request arrived.
        super().send_mail(form)
        customer = form.cleaned_data.get("your_e_mail_address")
        if customer:
            summary = form.cleaned_data.get("summary_of_the_problem", "")
            send_mail(
                f"We received your request: {summary}", self.render_email(form), [customer], self.from_address
            )
