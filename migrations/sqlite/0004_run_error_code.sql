-- What failed a run, for programs: error_code_name() of the error that ended
-- it (src/error.c), e.g. 'ebay_relink' when the eBay account must be linked
-- again; NULL unless the run failed. sync_runs.error keeps the English for
-- people; clients act on this code, never on that text (docs/api.md).
ALTER TABLE sync_runs ADD COLUMN error_code TEXT;
