@stage:signup
Feature: Sign up on the markup frameworks render by default

  Scenario: Django's form.as_p, two passwords and a required terms box
    Given I open the django signup page
    When I sign up with my details
    Then I should see "Welcome aboard"

  Scenario: Rails' form_with, field by field
    Given I open "/rails/users/new"
    When I fill in "Full name" with my name
    And I fill in "Email" with my email
    And I fill in "Password" with my password
    And I fill in "Password confirmation" with my password
    And I choose "Team" in "Plan"
    And I check "Yearly"
    And I press "Create User"
    Then I should see "User was successfully created"

  Scenario: A two-step form with a terms box
    Given I open "/steps/email"
    When I fill in "Work email" with my email
    And I press "Continue"
    And I fill in "Choose a password" with my password
    And I check "I agree to the terms"
    And I press "Create account"
    Then I should see "Your account is ready"

  Scenario: A form rendered after the page loaded
    Given I open "/late"
    When I sign up with my details
    Then I should see "Thanks"

  Scenario: Flask-Security's login
    Given I open "/flask/login"
    When I log in with my account
    Then I should see "You are signed in"

  Scenario: Checkboxes and radios a CSS framework styled away
    Given I open "/styled/signup"
    When I check "Email me product news"
    And I check "Weekly digest"
    And I check "Yearly"
    And I sign up with my details
    Then I should see "Your account is ready"

  Scenario: Fields known only by their type and autocomplete
    Given I open "/bare/login"
    When I fill in "Email" with my email
    And I fill in "Password" with my password
    And I fill in "Phone number" with "555 0100"
    And I press "Sign in"
    Then I should see "You are signed in"

  Scenario: WooCommerce's login and register forms side by side
    Given I open "/my-account"
    When I sign up with my details
    Then I should see "You are signed in"
    When I open "/my-account"
    And I log in with my account
    Then I should see "You are signed in"
