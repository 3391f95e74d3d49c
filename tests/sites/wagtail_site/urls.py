"""Wagtail serves every page; the admin is left out (the tests build the page tree in code)."""

from __future__ import annotations

from django.urls import include, path
from wagtail import urls as wagtail_urls

urlpatterns = [path("", include(wagtail_urls))]
