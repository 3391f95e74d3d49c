@stage:discover
Feature: Find out what Acme does and what it costs
  As a small-business owner comparing tools,
  I want to see what Acme does and what it costs
  so that I can decide whether it is worth a trial.

  Scenario: The home page tells me what Acme is
    Given I open the home page
    Then I should see "projects without the chaos"

  Scenario: I land on the pricing page from a search result
    Given I open the pricing page
    Then I should see "Enterprise"

  Scenario: My developer reads the plans from Acme's API
    When I call GET "/api/plans"
    Then the response status is 200
    And the response has "plans.1.name" = "Team"

  Scenario: I find the price of a plan from the home page
    Given I open the home page
    When I click "See pricing"
    Then I am on the pricing page
    And I should see "Team"
