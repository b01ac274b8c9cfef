"""The evaluation data sets (SciFact, the SQuAD 2.0 sample) read from the shared data folder."""
