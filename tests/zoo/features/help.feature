@stage:get-help
Feature: Ask for help on a Bootstrap form

  Scenario: The support request step on floating labels
    Given I open the support page
    When I submit a support request about "Invoices are wrong"
    Then I should see "ZOO-1234"

  Scenario: Field by field, an icon font in the button
    Given I open the support page
    When I fill in "Your E-Mail Address" with my email
    And I fill in "Summary of the problem" with "Export fails"
    And I choose "High" in "Priority"
    And I fill in "Describe the problem" with "The CSV export times out."
    And I press "Submit Ticket"
    Then I should see "ZOO-1234"
