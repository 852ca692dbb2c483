"""BacktestRun records its fill convention, a hash of the bars it used and notes on their rounding.

Runs stored before this migration filled at the signal bar's close (Nautilus's default), so they get
signal_close; new runs default to next_open.
"""

from django.db import migrations, models

CHOICES = [("next_open", "next bar's open (as live)"), ("signal_close", "signal bar's close")]
HELP = "When a MARKET order decided on a bar fills: the next bar's open, or the signal bar's close."


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0009_session_start_token"),
    ]

    operations = [
        migrations.AddField(
            model_name="backtestrun",
            name="fill_convention",
            field=models.CharField(choices=CHOICES, default="signal_close", help_text=HELP, max_length=16),
        ),
        migrations.AlterField(
            model_name="backtestrun",
            name="fill_convention",
            field=models.CharField(choices=CHOICES, default="next_open", help_text=HELP, max_length=16),
        ),
        migrations.AddField(
            model_name="backtestrun",
            name="data_hash",
            field=models.CharField(
                blank=True, help_text="sha256 of the exact bars used (empty for runs stored before it).", max_length=64
            ),
        ),
        migrations.AddField(
            model_name="backtestrun",
            name="data_notes",
            field=models.JSONField(
                blank=True, default=dict, help_text="Bar count, hash format, prices changed by rounding to the tick."
            ),
        ),
    ]
