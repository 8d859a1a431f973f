"""What runs on its own: the scheduler that starts with the app (or `jobs serve`), its jobs
(alert checks, deliveries, reminders, subscriptions) and their state."""
