"""Request handlers by area. Each area maps protocol message names (``ibsim.protocol.OUT_NAMES``) to methods.

``market_data``: contracts, quotes, ticks, bars, history. ``orders``: placing, cancelling, reporting orders and
executions. ``account``: accounts, positions, P&L. ``unsupported``: what ibsim does not model, answered as a
gateway answers it (an error carrying the request's own id, an empty answer, or silence).
"""

from .account import AccountHandlers
from .base import Area, Handler
from .market_data import MarketDataHandlers
from .orders import OrderHandlers
from .unsupported import UnsupportedHandlers

__all__ = ["AccountHandlers", "Area", "Handler", "MarketDataHandlers", "OrderHandlers", "UnsupportedHandlers"]
