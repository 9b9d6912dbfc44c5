"""Names of the user attributes automl writes on a trial, shared by the search (which writes
them) and the result, report and dashboard (which read them) without importing the search."""

REASON = "reason"  # why a trial was pruned or failed
NOTE = "note"  # what else the leaderboard should say of a completed trial
TIEBREAK = "valid_loss"  # validation log-loss (classification) or RMSE: breaks ties in the score
# the last rung's trial (automl.last_rung): the number of the trial whose configuration it trains
# on all training rows
LAST_RUNG_OF = "last_rung_of"
LAST_RUNG_ROWS = "last_rung_rows"  # and the training rows it trains on (a rung's)
