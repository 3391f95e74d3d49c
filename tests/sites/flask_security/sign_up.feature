@stage:sign-up
Feature: Open an account and confirm my email address
  As a new visitor,
  I want to register with my email address and confirm it from my inbox
  so that I can sign in to my own account.

  Scenario: I register, confirm my email address and sign in
    Given I open the home page
    When I click "Register"
    Then I am on the registration form page
    When I sign up with my details
    Then I should see "To confirm your email address"
    And I receive the welcome email
    When I follow the link in the welcome email
    Then I should see "Your email has been confirmed"
    And I am on the login form page
    When I log in with my account
    Then I am on the account page
    And I should see "Signed in as"
