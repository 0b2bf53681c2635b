-- PLACEHOLDER on the usage branch only: platform migration numbers must be contiguous, and 0007
-- belongs to the billing branch. On merge, take the billing branch's 0007_billing.sql instead.
PERFORM 1;
