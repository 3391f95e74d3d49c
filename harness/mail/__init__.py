"""The synthetic customer's inbox: Maildir and IMAP mailboxes, the messages read, pending expectations."""
