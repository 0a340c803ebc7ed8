"""Campaign's own API, read-only: a SOAP client for soaprouter.jsp (Logon, ExecuteQuery, Logoff), the
monitoring pages (ping.jsp, monitor.jsp) and the per-environment session the runner uses."""

from bot.campaign_api.facts import ApiFacts
from bot.campaign_api.session import CampaignApiSession, EnvironmentApi, campaign_api_factory

__all__ = ["ApiFacts", "CampaignApiSession", "EnvironmentApi", "campaign_api_factory"]
