@stage:get-help
Feature: Get help when I am stuck
  As a customer with a billing question,
  I want to find the answer or reach a person quickly
  so that I do not lose a day of work.

  Scenario: I search the help centre
    Given I open the help centre page
    When I fill in "Search the help centre" with "billing"
    And I press "Search"
    Then I am on the help search page
    And I should see "results for"

  Scenario: I write to support and get an acknowledgement
    Given I open the contact form page
    When I fill in "Email" with my email
    And I fill in "Subject" with "Invoice shows the wrong plan"
    And I fill in "Message" with "My invoice says Team but we are on Starter."
    And I press "Send"
    Then I should see "We received your request"
    And I receive the support acknowledgement email
