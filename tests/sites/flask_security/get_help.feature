@stage:get-help
Feature: Get back in when I forgot my password
  As a customer who forgot the password,
  I want the site to email me a way back in.

  Scenario: I forgot my password and ask for a reset link
    Given I open the registration form page
    And I sign up with my details
    And I receive the welcome email
    And I follow the link in the welcome email
    When I open the password reset form page
    And I fill in "Email Address" with my email
    And I press "Recover Password"
    Then I should see "Instructions to reset your password have been sent"
    And I receive the password reset email
