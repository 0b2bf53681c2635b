-- Nothing calls it: every tenant read goes through `Database.transaction(for:)` or the
-- generated read functions. Dynamic SQL nobody needs is attack surface.

DROP FUNCTION IF EXISTS platform.tenant_query(text, text, text, text[]);
