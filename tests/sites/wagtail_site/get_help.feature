@stage:get-help
Feature: Ask for help with the contact form
  As a customer with a problem,
  I want to write to the support desk from the website
  so that someone answers me by email.

  Scenario: I write to support and they confirm my request arrived
    Given I open the home page
    When I open the contact form page
    And I submit a support request about "My invoice shows the wrong plan"
    Then I should see "We received your request"
    And I receive the support acknowledgement email
