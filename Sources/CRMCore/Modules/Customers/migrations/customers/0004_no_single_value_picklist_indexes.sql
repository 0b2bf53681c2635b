-- The records list orders by its sort key and id and stops at the page size; these
-- indexes on industry (6 values) and level (3) give neither, and the planner reads
-- the primary key or the sort's index instead. A filter on a rare value of a large
-- tenant is a longer scan now; every non-HOT update (ownership changes, the pool
-- reclaim) writes two indexes fewer.
DROP INDEX customers_industry_idx, customers_level_idx;
