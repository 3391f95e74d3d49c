@stage:get-help
Feature: What the harness cannot do is a scenario to fix

  Scenario: A field the page does not have
    Given I open the feedback page
    When I fill in "Phone number" with "555 0100"

  Scenario: Two buttons say the same
    Given I open the feedback page
    When I fill in "Feedback" with "Nice"
    And I press "Send"

  Scenario: An error page fails its touchpoint before anything is looked for
    Given I open the feedback page
    And I open "/moved"
    When I fill in "Email" with my email
