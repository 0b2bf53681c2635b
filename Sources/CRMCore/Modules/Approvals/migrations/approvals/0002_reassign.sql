-- Reassign (转交) and add approver (加签). A reassigned task ends as `reassigned` and its
-- replacement names it (`reassigned_from`). An added approver's task names the task whose
-- approver added it (`added_from`) and where: `before` (that task is `waiting` until the added
-- approver approves, then pending again) or `after` (the step also waits for the added
-- approver, whatever its mode). A replacement or an escalation keeps `added_from` and
-- `added_position`, so the step still knows what the task is for.

ALTER TABLE approval_tasks DROP CONSTRAINT approval_tasks_status_check;
ALTER TABLE approval_tasks ADD CONSTRAINT approval_tasks_status_check CHECK (status IN (
    'pending', 'waiting', 'approved', 'rejected', 'reassigned', 'superseded', 'skipped', 'expired', 'cancelled'));

ALTER TABLE approval_tasks ADD COLUMN reassigned_from uuid REFERENCES approval_tasks(id);
ALTER TABLE approval_tasks ADD COLUMN added_from uuid REFERENCES approval_tasks(id);
ALTER TABLE approval_tasks ADD COLUMN added_position text;
ALTER TABLE approval_tasks ADD CONSTRAINT approval_tasks_added_check CHECK (
    (added_from IS NULL AND added_position IS NULL) OR (added_from IS NOT NULL AND added_position IN ('before', 'after')));
