"""The alerting side as code: the drift and staleness rules, the Telegram contact point and
its message template, and the notification routes that send drift alerts there."""
