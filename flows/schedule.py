"""The monthly close's calendar, in one place (docs/operations.md#the-monthly-calendar-utc):
when the deployment runs, and how long a run waits for a late billing export. No Prefect
import here: the command line reads these for its help text."""

DEPLOYMENT_NAME = "creditflow-monthly"
# the 4th at 06:00 UTC: the provider's final bills arrive on the 3rd
SCHEDULE_CRON = "0 6 4 * *"
SCHEDULE_TIMEZONE = "UTC"
# a billing export not delivered by the 4th is waited for: tried again every 6 hours, for
# 3 days, then the run gives up loudly (deployment parameters; creditflow serve options)
EXPORT_RETRY_EVERY_HOURS = 6.0
EXPORT_GIVE_UP_AFTER_HOURS = 72.0
