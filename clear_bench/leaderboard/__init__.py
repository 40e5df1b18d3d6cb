"""Submission records of runs, and the leaderboard built from them."""
