"""Gateway health monitoring: checks every configured IB Gateway, keeps its state and alerts on transitions."""
