"""Every limit the platform applies: its name, its window and its number (from the settings).

The mechanics live elsewhere (`core/ratelimit.py`: token buckets in Redis; `tryon/shopper_limits.py`:
daily counters; the in-flight count inside the try-on charging transaction); this module only
says how much, and each limit is applied in exactly one place:

- API-key requests: `api_key_requests_per_minute` per key. Taken in the auth middleware (which
  answers the `RateLimit-*` headers), refused by the account guards (`accounts/guards.py`).
- Registrations: `registrations_per_ip_per_hour` per IP (`AccountService.register`).
- Sign-in attempts: `login_attempts_per_ip_per_minute` per IP (`AccountService.login`).
- Sign-in failures (`AccountService.login`): per known device and per account+IP
  `login_failures_per_account_per_15min`, per IP `login_failures_per_ip_per_hour`, per account
  `login_failures_per_account_per_hour` (then slowed to one a minute per IP, never locked); the
  owner's notice of it is updated at most once a minute.
- Wrong current password: `login_failures_per_account_per_15min` per account
  (`AccountService.change_password`).
- Password reset requests: `PASSWORD_RESET_REQUESTS_PER_IP` (refused) and, per email address,
  `PASSWORD_RESET_MAILS_PER_EMAIL` (further requests answer the same but mail nothing); reset and
  verification links presented: `ACCOUNT_TOKENS_PER_IP`; verification mails asked for again:
  `VERIFICATION_MAILS_PER_ACCOUNT` (`AccountEmails` in `accounts/emails.py`).
- Try-ons per shopper and per shopper IP, per key and UTC day: the key's own caps, else
  `shopper_daily_tryons` / `shopper_ip_daily_tryons` (`ShopperLimiter.reserve`).
- New shopper ids: `shopper_ids_per_ip_daily` per key, IP and UTC day
  (`ShopperLimiter.count_new_shopper`).
- Try-ons in flight per account: its own cap, else the runtime config's `max_jobs_in_flight`;
  counted inside the try-on charging transaction (`InFlightCap.check`).
- Live demo renders: a burst of 6, then one every 20 s, per IP (`LiveDemo.result`).
"""

from __future__ import annotations

from dataclasses import dataclass

from trailroom.core.config import Settings
from trailroom.core.errors import RateLimited
from trailroom.core.ratelimit import Limit

MINUTE = 60
QUARTER_HOUR = 900
HOUR = 3600


@dataclass(frozen=True)
class RatePolicy:
    """A token bucket per subject: `name` prefixes its Redis key, `limit` is its size and refill."""

    name: str
    limit: Limit

    def key(self, *subject: object) -> str:
        return ":".join([self.name, *(str(part) for part in subject)])


@dataclass(frozen=True)
class ShopperCaps:
    """Try-ons a day for one shopper (by id) and one network (by IP), per key."""

    per_shopper: int
    per_ip: int


@dataclass(frozen=True)
class InFlightCap:
    """How many try-ons an account may have queued or processing at once."""

    cap: int
    retry_after_s: int = 5  # jobs take seconds: a short wait, then try again

    def check(self, in_flight: int, adding: int) -> None:
        """Refuse `adding` more jobs when `in_flight` are running already (call it where the count is
        taken, inside the transaction that creates the jobs, so concurrent submissions cannot pass)."""
        if in_flight + adding > self.cap:
            raise RateLimited(
                f"At most {self.cap} try-ons can be in progress at once for this account; wait for some to finish.",
                code="concurrency_limited",
                retry_after=self.retry_after_s,
            )


# Not configurable: the landing page's demo renders on this server's CPU.
DEMO_RENDERS_PER_IP = RatePolicy("demo:ip", Limit(6, 120))
# Mails sent to an address on request, and the tokens they carry (not configurable: no one needs more).
PASSWORD_RESET_REQUESTS_PER_IP = RatePolicy("reset:ip", Limit(10, HOUR))
PASSWORD_RESET_MAILS_PER_EMAIL = RatePolicy("reset:email", Limit(3, HOUR))
VERIFICATION_MAILS_PER_ACCOUNT = RatePolicy("verify:account", Limit(3, HOUR))
ACCOUNT_TOKENS_PER_IP = RatePolicy("account_token:ip", Limit(30, HOUR))


def jobs_in_flight(account_cap: int | None, configured_cap: int) -> InFlightCap:
    """An account's own cap (set by an admin) wins over the runtime config's."""
    return InFlightCap(account_cap or configured_cap)


class LimitPolicies:
    """The limits whose numbers come from the settings, built once per service."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        failures_per_quarter_hour = Limit(settings.login_failures_per_account_per_15min, QUARTER_HOUR)
        self.api_key_requests = RatePolicy("key", Limit(settings.api_key_requests_per_minute, MINUTE))
        self.registrations_per_ip = RatePolicy("register:ip", Limit(settings.registrations_per_ip_per_hour, HOUR))
        self.sign_ins_per_ip = RatePolicy("login:ip", Limit(settings.login_attempts_per_ip_per_minute, MINUTE))
        self.sign_in_failures_per_device = RatePolicy("login:failures:device", failures_per_quarter_hour)
        self.sign_in_failures_per_ip = RatePolicy(
            "login:failures:ip", Limit(settings.login_failures_per_ip_per_hour, HOUR)
        )
        self.sign_in_failures_per_account_ip = RatePolicy("login:failures:account_ip", failures_per_quarter_hour)
        self.sign_in_failures_per_account = RatePolicy(
            "login:failures:account", Limit(settings.login_failures_per_account_per_hour, HOUR)
        )
        # While an account is over its account-wide failure bound, each unknown browser's source may
        # try once a minute.
        self.slowed_sign_ins = RatePolicy("login:slowed", Limit(1, MINUTE))
        self.sign_in_throttled_notice = RatePolicy("notice:sign_in", Limit(1, MINUTE))
        self.password_change_failures = RatePolicy("password:account", failures_per_quarter_hour)
        self.shopper_ids_per_ip_daily = settings.shopper_ids_per_ip_daily

    def shopper_caps(self, key_per_shopper: int | None, key_per_ip: int | None) -> ShopperCaps:
        """A key's own daily caps win over the settings' defaults."""
        return ShopperCaps(
            per_shopper=key_per_shopper or self.settings.shopper_daily_tryons,
            per_ip=key_per_ip or self.settings.shopper_ip_daily_tryons,
        )
