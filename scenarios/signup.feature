@stage:signup
Feature: Start a free trial on my own
  As a small-business owner,
  I want to start a free trial without talking to anyone
  so that I can try Acme tonight.

  Scenario: I sign up and confirm my email address
    Given I open the signup page
    When I sign up with my details
    Then I should see "Check your inbox"
    And I receive the confirmation email
    When I follow the link in the confirmation email
    Then I am on the email confirmation page
    And I should see "Your account is confirmed"
