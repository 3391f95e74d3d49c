@stage:evaluate @segment:enterprise
Feature: Talk to sales before committing the team
  As an IT manager at a 200-person company,
  I want to book a demo with a person
  so that I can check Acme fits our security rules before anyone signs up.

  Scenario: I book a demo from the pricing page
    Given I open the pricing page
    When I click "Book a demo"
    Then I am on the demo form page
    When I fill in "Name" with my name
    And I fill in "Work email" with my email
    And I fill in "Company" with "Initech"
    And I choose "51-500" in "Company size"
    And I press "Book a demo"
    Then I should see "our sales team will contact you"
    And I receive the demo booked email
