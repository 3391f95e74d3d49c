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

  Scenario: I write to support and a person answers
    Given I open the contact form page
    When I submit a support request about "Invoice shows the wrong plan"
    Then I should see "We received your request"
    And I receive the support acknowledgement email
    And I will receive the support reply email
