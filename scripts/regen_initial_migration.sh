#!/usr/bin/env bash
# Until the first release, the schema lives in one initial revision regenerated from the models.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f alembic/versions/0001_initial.py
FIELDSCOPE_DATABASE_URL="sqlite:///$tmp/gen.db" uv run alembic revision --autogenerate \
  --rev-id 0001 -m initial >/dev/null
python3 - <<'PY'
from pathlib import Path
p = Path("alembic/versions/0001_initial.py")
s = p.read_text()
seed = '''
    op.bulk_insert(sa.table("change_cursor", sa.column("id", sa.Integer), sa.column("value", sa.BigInteger)), [{"id": 1, "value": 0}])
    op.execute("INSERT INTO server_state (id, epoch, created_at) VALUES (1, '" + __import__("uuid").uuid4().hex + "', CURRENT_TIMESTAMP)")
'''
s = s.replace("    # ### end Alembic commands ###\n", "    # ### end Alembic commands ###\n" + seed, 1)
p.write_text(s)
PY
rm -rf "$tmp"
echo "regenerated alembic/versions/0001_initial.py"
