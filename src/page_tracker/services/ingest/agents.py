"""What a User-Agent says of a visitor: a bot, or a browser on an OS and a kind of device."""

from functools import lru_cache
from typing import NamedTuple

import ua_parser
from crawlerdetect import CrawlerDetect

MAX_USER_AGENT = 1024
MOBILE_OS = {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS"}
_CRAWLERS = CrawlerDetect()


class Agent(NamedTuple):
    """What a User-Agent says of the visitor: a bot, or a browser on an OS and a device."""

    bot: bool
    browser: str = ""
    os: str = ""
    device: str = ""


@lru_cache(maxsize=8192)
def classify(user_agent: str) -> Agent:
    """Return what `user_agent` says (a missing one is a bot: every browser sends one)."""
    if not user_agent.strip() or _CRAWLERS.is_crawler(user_agent):
        return Agent(bot=True)
    parsed = ua_parser.parse(user_agent)
    if parsed.device is not None and parsed.device.family == "Spider":
        return Agent(bot=True)
    browser = parsed.user_agent.family if parsed.user_agent else "Other"
    system = parsed.os.family if parsed.os else "Other"
    model = parsed.device.family if parsed.device else ""
    if "iPad" in model or "Tablet" in model or (system == "Android" and "Mobile" not in user_agent):
        device = "tablet"
    elif system in MOBILE_OS or "Mobile" in user_agent:
        device = "mobile"
    else:
        device = "desktop"
    return Agent(bot=False, browser=browser, os=system, device=device)


# A server-side event that names no User-Agent: a view, of a browser nobody knows.
UNKNOWN_AGENT = Agent(bot=False, browser="Unknown", os="Unknown", device="unknown")
