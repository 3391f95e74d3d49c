@stage:discover
Feature: Buttons and links as people see them

  Scenario: A link styled as a button, behind an icon glyph
    Given I open the home page
    When I click "See pricing"
    Then I am on the pricing page

  Scenario: The same link in the header and the footer is one way there
    Given I open the home page
    When I click "Pricing"
    Then I should see "Plans"

  Scenario: Fields known by their placeholder or their aria-label, a button with an SVG icon
    Given I open the docs search page
    When I fill in "Search the docs" with "webhooks"
    And I fill in "Company size" with "11-50"
    And I fill in "Team name" with "Zoo keepers"
    And I fill in "Work phone" with "555 0100"
    And I press "Go"
    Then I should see "Results for your search"

  Scenario: A field and a button inside a web component's shadow root
    Given I open the docs search page
    When I fill in "Newsletter address" with "zoo@example.test"
    And I press "Subscribe"
    Then I should see "Subscribed"
