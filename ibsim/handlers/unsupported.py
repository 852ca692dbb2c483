"""What ibsim does not model, answered the way a gateway answers it: never an error the client cannot match.

* Requests a gateway answers silently (log level, news bulletins, display-group events, cancels of things
  ibsim never started) get no answer.
* Requests a gateway answers with an empty result when there is nothing to report get that empty result (no
  option chains, soft-dollar tiers, news providers or historical news, no display groups).
* The rest get the error a gateway sends when the data or feature is not available, carrying the request's own
  id so that the client's pending request ends (historical: 162; fundamentals: 430; news: 10276; ...).
"""

from __future__ import annotations

from .. import protocol as P
from ..connection import Connection
from .base import Area, Handler

SILENT = (
    "SET_SERVER_LOGLEVEL",
    "REQ_NEWS_BULLETINS",
    "CANCEL_NEWS_BULLETINS",
    "SUBSCRIBE_TO_GROUP_EVENTS",
    "UPDATE_DISPLAY_GROUP",
    "UNSUBSCRIBE_FROM_GROUP_EVENTS",
    "CANCEL_SCANNER_SUBSCRIPTION",
    "CANCEL_FUNDAMENTAL_DATA",
    "CANCEL_CALC_IMPLIED_VOLAT",
    "CANCEL_CALC_OPTION_PRICE",
    "CANCEL_HISTOGRAM_DATA",
    "CANCEL_WSH_META_DATA",
    "CANCEL_WSH_EVENT_DATA",
    "CANCEL_CONTRACT_DATA",
    "CANCEL_HISTORICAL_TICKS",
)
# name -> (error code, text); the error carries the request's reqId (-1 for requests that have none).
REFUSED = {
    "REQ_FA": (321, "Error validating request.-'bA' : cause - FA data operations ignored for non FA customers."),
    "REPLACE_FA": (321, "Error validating request.-'bA' : cause - FA data operations ignored for non FA customers."),
    "EXERCISE_OPTIONS": (200, "No security definition has been found for the request (ibsim has no options)"),
    "REQ_CALC_IMPLIED_VOLAT": (200, "No security definition has been found for the request (ibsim has no options)"),
    "REQ_CALC_OPTION_PRICE": (200, "No security definition has been found for the request (ibsim has no options)"),
    "REQ_SCANNER_SUBSCRIPTION": (162, "Historical Market Data Service error message:scanners are not modelled"),
    "REQ_FUNDAMENTAL_DATA": (430, "We are sorry, but fundamentals data for the security specified is not available."),
    "REQ_HISTOGRAM_DATA": (162, "Historical Market Data Service error message:histograms are not modelled"),
    "REQ_NEWS_ARTICLE": (10276, "News feed is not allowed."),
    "REQ_WSH_META_DATA": (10276, "News feed is not allowed (Wall Street Horizon)."),
    "REQ_WSH_EVENT_DATA": (10276, "News feed is not allowed (Wall Street Horizon)."),
    "VERIFY_REQUEST": (321, "Error validating request.-'bB' : cause - API verification is not supported"),
    "VERIFY_MESSAGE": (321, "Error validating request.-'bB' : cause - API verification is not supported"),
    "VERIFY_AND_AUTH_REQUEST": (321, "Error validating request.-'bB' : cause - API verification is not supported"),
    "VERIFY_AND_AUTH_MESSAGE": (321, "Error validating request.-'bB' : cause - API verification is not supported"),
}
SCANNER_XML = "<?xml version='1.0' encoding='UTF-8'?><ScanParameterResponse/>"


class UnsupportedHandlers(Area):
    def handlers(self) -> dict[str, Handler]:
        out: dict[str, Handler] = {name: _silent for name in SILENT}
        out.update({name: self.refuse for name in REFUSED})
        out.update(
            {
                "QUERY_DISPLAY_GROUPS": lambda c, r: c.send(P.display_group_list(P.to_int(r.args["reqId"]), "")),
                "REQ_SEC_DEF_OPT_PARAMS": lambda c, r: c.send(P.sec_def_opt_params_end(P.to_int(r.args["reqId"]))),
                "REQ_SOFT_DOLLAR_TIERS": lambda c, r: c.send(P.soft_dollar_tiers(P.to_int(r.args["reqId"]))),
                "REQ_NEWS_PROVIDERS": lambda c, r: c.send(P.news_providers()),
                "REQ_HISTORICAL_NEWS": lambda c, r: c.send(P.historical_news_end(P.to_int(r.args["reqId"]))),
                "REQ_SCANNER_PARAMETERS": lambda c, r: c.send(P.scanner_parameters(SCANNER_XML)),
            }
        )
        return out

    def refuse(self, conn: Connection, req: P.Request) -> None:
        code, text = REFUSED[req.name]
        conn.error(request_id(req), code, text)


def _silent(conn: Connection, req: P.Request) -> None:
    return None


def request_id(req: P.Request) -> int:
    """The id a request carries (reqId, else orderId), or -1 when it has none or it is unreadable."""
    for key in ("reqId", "orderId"):
        value = req.args.get(key)
        if value is None:
            continue
        try:
            return P.to_int(value, -1)
        except P.ProtocolError:
            return -1
    return -1
