-- Placeholder: number 9 belongs to another branch of issue 15. Versions must run 1, 2, 3, …,
-- so this branch holds the number with a no-op until the merge replaces it.

NULL;
