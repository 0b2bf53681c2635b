-- The move of a customer's open work to its new owner is the module's after-save hook on
-- customers now (OpenWorkFollowsOwner), so each activity it moves gets its history and
-- change event like any other write.

DROP TRIGGER customers_owner_moves_activities ON customers;
DROP FUNCTION customers_move_open_activities();
