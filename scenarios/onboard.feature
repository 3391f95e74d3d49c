@stage:onboard
Feature: Get set up after signing up
  As a new customer who just confirmed my account,
  I want to log in and see what to do first
  so that my team gets value from Acme in the first week.

  Scenario: I log in for the first time and see my checklist
    Given I open the signup page
    And I sign up with my details
    And I receive the confirmation email
    And I follow the link in the confirmation email
    When I click "Log in"
    Then I am on the login page
    When I log in with my account
    Then I am on the onboarding checklist page
    And I should see "Invite a teammate"
    And I receive the welcome email
