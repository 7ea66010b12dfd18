#include "loyalty/terminal/schema.hpp"

#include "loyalty/terminal/at_rest.hpp"
#include "loyalty/terminal/feedback.hpp"
#include "loyalty/terminal/member_repository.hpp"
#include "loyalty/terminal/outbox.hpp"

namespace loyalty::terminal {
namespace {

// Version 1: members, sales, the append-only points ledger, the outbox, idempotency keys, staff.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

CREATE TABLE members (
  member_id         TEXT PRIMARY KEY,
  card_no           TEXT NOT NULL UNIQUE,
  phone             TEXT NOT NULL UNIQUE,          -- E.164
  phone_rev         TEXT NOT NULL,                 -- digits reversed: last-N search is a prefix scan
  name              TEXT NOT NULL,
  name_norm         TEXT NOT NULL,
  birthday          TEXT,                          -- YYYY-MM-DD
  language          TEXT,
  consent_marketing INTEGER NOT NULL CHECK (consent_marketing IN (0, 1)),
  consent_at        TEXT,
  consent_store     TEXT,
  consent_version   TEXT,
  referrer_id       TEXT REFERENCES members(member_id),
  tier              TEXT NOT NULL DEFAULT 'member',
  enrolled_at       TEXT NOT NULL,
  enrolled_store    TEXT NOT NULL,
  enrolled_terminal TEXT NOT NULL,
  balance           INTEGER NOT NULL DEFAULT 0,   -- cache of SUM(ledger.points); verify proves it
  lifetime_spend    INTEGER NOT NULL DEFAULT 0,   -- minor units, net of refunds
  last_visit_at     TEXT
);
CREATE INDEX members_phone_rev ON members(phone_rev);

CREATE TABLE member_name_keys (
  key       TEXT NOT NULL,
  member_id TEXT NOT NULL REFERENCES members(member_id),
  PRIMARY KEY (key, member_id)
) WITHOUT ROWID;

-- A sale's id is its idempotency key: the row keeps the request's normalised content
-- (fingerprint) and the answer given (result), so a replay returns it unchanged.
CREATE TABLE sales (
  sale_id           TEXT PRIMARY KEY,
  member_id         TEXT REFERENCES members(member_id),
  at                TEXT NOT NULL,
  subtotal          INTEGER NOT NULL,
  discount          INTEGER NOT NULL,
  total             INTEGER NOT NULL,
  points_earned     INTEGER NOT NULL,   -- signed: negative for a return without receipt
  points_redeemed   INTEGER NOT NULL,
  refundable        INTEGER NOT NULL,   -- sum of the positive line amounts
  refunded_goods    INTEGER NOT NULL DEFAULT 0,
  refunded_amount   INTEGER NOT NULL DEFAULT 0,
  points_reversed   INTEGER NOT NULL DEFAULT 0,
  redeemed_returned INTEGER NOT NULL DEFAULT 0,
  fingerprint       TEXT NOT NULL,
  result            TEXT NOT NULL       -- JSON
) WITHOUT ROWID;
CREATE INDEX sales_member ON sales(member_id, at);

CREATE TABLE sale_lines (
  sale_id      TEXT NOT NULL REFERENCES sales(sale_id),
  line_no      INTEGER NOT NULL,
  sku          TEXT NOT NULL,
  description  TEXT,
  qty          INTEGER NOT NULL,
  unit_price   INTEGER NOT NULL,  -- 1/10000
  amount       INTEGER NOT NULL,  -- minor units
  refunded_qty INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (sale_id, line_no)
) WITHOUT ROWID;

CREATE TABLE ledger (
  entry_id      INTEGER PRIMARY KEY,
  member_id     TEXT NOT NULL REFERENCES members(member_id),
  at            TEXT NOT NULL,
  kind          TEXT NOT NULL CHECK (kind IN ('earn','redeem','reversal','expire','bonus','adjust')),
  points        INTEGER NOT NULL,
  sale_id       TEXT,
  ref_id        TEXT NOT NULL,    -- the sale, redemption or refund that wrote it
  balance_after INTEGER NOT NULL
);
CREATE INDEX ledger_member ON ledger(member_id, entry_id);
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
  BEGIN SELECT RAISE(ABORT, 'the points ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
  BEGIN SELECT RAISE(ABORT, 'the points ledger is append-only'); END;

CREATE TABLE rewards (
  reward_id TEXT PRIMARY KEY,
  name      TEXT NOT NULL,
  points    INTEGER NOT NULL CHECK (points > 0),
  active    INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE redemptions (
  redemption_id TEXT PRIMARY KEY,
  member_id     TEXT NOT NULL REFERENCES members(member_id),
  at            TEXT NOT NULL,
  points        INTEGER NOT NULL,
  reward_id     TEXT REFERENCES rewards(reward_id),
  fingerprint   TEXT NOT NULL,
  result        TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE refunds (
  refund_id       TEXT PRIMARY KEY,
  sale_id         TEXT NOT NULL REFERENCES sales(sale_id),
  at              TEXT NOT NULL,
  amount          INTEGER NOT NULL,
  points_reversed INTEGER NOT NULL,
  fingerprint     TEXT NOT NULL,
  result          TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX refunds_sale ON refunds(sale_id);

CREATE TABLE refund_lines (
  refund_id TEXT NOT NULL REFERENCES refunds(refund_id),
  line_no   INTEGER NOT NULL,
  qty       INTEGER NOT NULL,
  PRIMARY KEY (refund_id, line_no)
) WITHOUT ROWID;

-- Every state change writes its event here in the same transaction. seq is the rowid, so it is
-- max + 1: contiguous, since a rolled-back insert takes its number with it. Rows are never
-- deleted (head office acknowledges a prefix: meta 'outbox_acked_through'), so numbers are never
-- reused. No secondary index: each one would cost a page written and synced per sale.
CREATE TABLE outbox (
  seq      INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL,        -- random UUID; head office deduplicates by it
  type     TEXT NOT NULL,
  at       TEXT NOT NULL,
  payload  TEXT NOT NULL
);
INSERT INTO meta(key, value) VALUES ('outbox_acked_through', '0');

-- Staff who log in at the counter; PINs only as argon2id hashes (libsodium).
CREATE TABLE staff (
  staff_id        TEXT PRIMARY KEY,
  name            TEXT NOT NULL,
  role            TEXT NOT NULL CHECK (role IN ('cashier', 'supervisor')),
  pin_hash        TEXT NOT NULL,
  failed_attempts INTEGER NOT NULL DEFAULT 0,
  active          INTEGER NOT NULL DEFAULT 1
);

-- Every idempotency key with its content and answer, across the three keyed operations.
CREATE VIEW idempotency(op, key, fingerprint, result, at) AS
  SELECT 'sale', sale_id, fingerprint, result, at FROM sales
  UNION ALL SELECT 'redeem', redemption_id, fingerprint, result, at FROM redemptions
  UNION ALL SELECT 'refund', refund_id, fingerprint, result, at FROM refunds;
)sql";

// Version 2: the loyalty rules. Earn lots with expiry (FIFO), tier upgrade/review dates, the
// referral bonus flag, promotion details a refund needs, how each redemption was authorised and
// the offline redemption allowance.
constexpr std::string_view kV2 = R"sql(
ALTER TABLE members ADD COLUMN tier_upgraded_at TEXT;          -- RFC 3339 of the last upgrade
ALTER TABLE members ADD COLUMN tier_reviewed_month TEXT;       -- YYYY-MM of the last downgrade review
ALTER TABLE members ADD COLUMN referral_bonus_paid INTEGER NOT NULL DEFAULT 0;

ALTER TABLE sale_lines ADD COLUMN category TEXT;
ALTER TABLE sale_lines ADD COLUMN discount INTEGER NOT NULL DEFAULT 0;   -- member discount, minor units
ALTER TABLE sales ADD COLUMN spend_discount INTEGER NOT NULL DEFAULT 0;  -- the 满减 part of discount
ALTER TABLE sales ADD COLUMN promo_context TEXT;   -- JSON: what a refund needs to re-evaluate 满减/满赠

ALTER TABLE redemptions ADD COLUMN authorised TEXT NOT NULL DEFAULT 'local'
  CHECK (authorised IN ('local', 'online', 'offline'));

-- Points spent while head office could not be asked, per member and store-local day: the
-- offline allowance of sync-protocol.md bounds their sum.
CREATE TABLE offline_spend (
  ref_id    TEXT PRIMARY KEY,     -- the redemption or sale
  member_id TEXT NOT NULL REFERENCES members(member_id),
  local_day TEXT NOT NULL,
  points    INTEGER NOT NULL CHECK (points > 0)
) WITHOUT ROWID;
CREATE INDEX offline_spend_member ON offline_spend(member_id, local_day);

-- Each credit to a balance is a lot that expires; debits take from the oldest expiry first.
-- Invariant (verify): per member, SUM(remaining) = MAX(0, balance).
CREATE TABLE lots (
  lot_id     INTEGER PRIMARY KEY,
  entry_id   INTEGER REFERENCES ledger(entry_id),   -- the credit; NULL for lots made by this migration
  member_id  TEXT NOT NULL REFERENCES members(member_id),
  earned_on  TEXT NOT NULL,                        -- store-local day
  expires_on TEXT NOT NULL,                        -- last store-local day the points can be used
  points     INTEGER NOT NULL CHECK (points > 0),
  remaining  INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= points)
);
CREATE INDEX lots_member ON lots(member_id, expires_on, lot_id) WHERE remaining > 0;
CREATE INDEX lots_due ON lots(expires_on, member_id) WHERE remaining > 0;

-- Balances earned before lots existed become one lot each, from the member's last ledger day.
INSERT INTO lots(member_id, earned_on, expires_on, points, remaining)
  SELECT m.member_id, substr(l.last_at, 1, 10), (CAST(substr(l.last_at, 1, 4) AS INTEGER) + 1) || '-12-31',
         m.balance, m.balance
  FROM members m JOIN (SELECT member_id, MAX(at) AS last_at FROM ledger GROUP BY member_id) l USING (member_id)
  WHERE m.balance > 0;
)sql";

// Version 3: the link to head office (sync-protocol.md). The credentials `register` stores,
// head office's figures for each member at the last pull (kept apart from the terminal's own
// columns, which verify proves from its own rows), member merges, and the configuration head
// office pushes. The change feed's position is meta.hq_cursor, changed only together with the
// page it belongs to.
constexpr std::string_view kV3 = R"sql(
CREATE TABLE hq_link (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  hq_url        TEXT NOT NULL,
  ca_pem        TEXT NOT NULL,     -- the only CA trusted for head office
  token         TEXT NOT NULL,     -- bearer token bound to this terminal
  pin           TEXT,              -- optional sha256//BASE64 of head office's public key
  store_id      TEXT NOT NULL,
  terminal_id   TEXT NOT NULL,
  timezone      TEXT NOT NULL,
  registered_at TEXT NOT NULL
);

CREATE TABLE hq_members (
  member_id      TEXT PRIMARY KEY REFERENCES members(member_id),
  balance        INTEGER NOT NULL,  -- signed ledger sum at head office
  points_debt    INTEGER NOT NULL,
  tier           TEXT NOT NULL,
  lifetime_spend TEXT NOT NULL,     -- decimal, across all stores
  cursor         TEXT NOT NULL      -- the page that brought it
) WITHOUT ROWID;

CREATE TABLE member_merges (
  from_id TEXT PRIMARY KEY,         -- kept (history intact), no longer offered by name search
  into_id TEXT NOT NULL,
  cursor  TEXT NOT NULL
) WITHOUT ROWID;

-- Every configuration head office pushed; the newest with error IS NULL is the one in force.
CREATE TABLE hq_config (
  version     INTEGER PRIMARY KEY,
  toml        TEXT NOT NULL,
  error       TEXT,                 -- why the strict parser refused it
  received_at TEXT NOT NULL
);

INSERT INTO meta(key, value) VALUES ('hq_cursor', ''), ('hq_applied_through', '0');
)sql";

// Version 4: customer feedback recorded at the counter (terminal/src/feedback.cpp):
// satisfaction answers and complaints.
constexpr std::string_view kFeedback = R"sql(
CREATE TABLE surveys (
  survey_id TEXT PRIMARY KEY,
  sale_id   TEXT,
  member_id TEXT REFERENCES members(member_id),
  scale     TEXT NOT NULL CHECK (scale IN ('csat5', 'nps10')),
  score     INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
  at        TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE complaints (
  complaint_id TEXT PRIMARY KEY,
  member_id    TEXT REFERENCES members(member_id),
  category     TEXT NOT NULL,
  description  TEXT NOT NULL,
  staff_id     TEXT,
  at           TEXT NOT NULL
) WITHOUT ROWID;
)sql";

// Version 5: personal data at rest (docs/terminal-store.md). Members' phone numbers and birthdays
// are sealed (XChaCha20-Poly1305 under the terminal's at-rest key) and found through keyed hashes:
// phone_key of the E.164 number, phone_last4 of its last 4 digits. SQLite cannot drop a UNIQUE
// column, so the table is rebuilt (sealPersonalData, in C++, since it encrypts). Outbox payloads
// and complaint descriptions are sealed; the birthday leaves sales.promo_context (refunds never
// needed it); staff and hq_link have moved to the credentials file.
constexpr std::string_view kV5 = R"sql(
CREATE TABLE members_sealed (
  member_id           TEXT PRIMARY KEY,
  card_no             TEXT NOT NULL UNIQUE,
  phone_key           BLOB NOT NULL UNIQUE,  -- keyed hash of the E.164 number: exact lookups
  phone_last4         BLOB NOT NULL,         -- keyed hash of its last 4 digits: suffix lookups
  personal_sealed     BLOB NOT NULL,         -- the E.164 number and the birthday, sealed together
  name                TEXT NOT NULL,
  name_norm           TEXT NOT NULL,
  language            TEXT,
  consent_marketing   INTEGER NOT NULL CHECK (consent_marketing IN (0, 1)),
  consent_at          TEXT,
  consent_store       TEXT,
  consent_version     TEXT,
  referrer_id         TEXT REFERENCES members(member_id),
  tier                TEXT NOT NULL DEFAULT 'member',
  enrolled_at         TEXT NOT NULL,
  enrolled_store      TEXT NOT NULL,
  enrolled_terminal   TEXT NOT NULL,
  balance             INTEGER NOT NULL DEFAULT 0,  -- cache of SUM(ledger.points); verify proves it
  lifetime_spend      INTEGER NOT NULL DEFAULT 0,  -- minor units, net of refunds
  last_visit_at       TEXT,
  tier_upgraded_at    TEXT,
  tier_reviewed_month TEXT,
  referral_bonus_paid INTEGER NOT NULL DEFAULT 0
);
)sql";

void sealPersonalData(db::Database& db) {
  const Scrub scrub(db);  // what the plaintext columns and rows held is zeroed as it goes
  sealVersion4Members(db);
  db.exec("DROP TABLE members; ALTER TABLE members_sealed RENAME TO members; "
          "CREATE INDEX members_phone_last4 ON members(phone_last4);");
  sealVersion4Outbox(db);
  sealVersion4Complaints(db);
  db.exec("UPDATE sales SET promo_context = json_remove(promo_context, '$.birthday') "
          "WHERE promo_context IS NOT NULL");
  moveVersion4Credentials(db);  // again, so this step never drops rows that were not moved
  db.exec("DROP TABLE main.staff; DROP TABLE main.hq_link;");
  // From now on the database holds data sealed with this key: only this key may open it.
  db.query("INSERT OR REPLACE INTO meta(key, value) VALUES ('at_rest_key_check', ?)")
      .bind(1, atRestKeys(db).keyCheck())
      .run();
}

// Version 6: members' rights (docs/exec-cli.md, "member details and consent"). Every
// consent decision with its version, time, store and staff (members from before get one row from
// what the member row says); a log of what was done with a member's details (fields changed, never
// their values; exports); and members whose personal data head office erased (kept without it, so
// their sales and ledger stay; never found by any lookup).
constexpr std::string_view kV6 = R"sql(
ALTER TABLE members ADD COLUMN erased_at TEXT;

CREATE TABLE member_consents (
  consent_id        INTEGER PRIMARY KEY,
  member_id         TEXT NOT NULL REFERENCES members(member_id),
  at                TEXT NOT NULL,
  consent_marketing INTEGER NOT NULL CHECK (consent_marketing IN (0, 1)),
  consent_version   TEXT,           -- the consent text shown; NULL when not known
  store_id          TEXT,
  staff_id          TEXT
);
CREATE INDEX member_consents_member ON member_consents(member_id, consent_id);

CREATE TABLE member_log (
  entry_id  INTEGER PRIMARY KEY,
  member_id TEXT NOT NULL REFERENCES members(member_id),
  at        TEXT NOT NULL,
  action    TEXT NOT NULL CHECK (action IN ('update', 'consent', 'export')),
  fields    TEXT NOT NULL,          -- wire names of the fields changed, comma-separated
  store_id  TEXT NOT NULL,
  staff_id  TEXT
);
CREATE INDEX member_log_member ON member_log(member_id, entry_id);

INSERT INTO member_consents(member_id, at, consent_marketing, consent_version, store_id)
  SELECT member_id, COALESCE(consent_at, enrolled_at), consent_marketing, consent_version,
         COALESCE(consent_store, enrolled_store)
  FROM members ORDER BY rowid;
)sql";

// Version 7: products and pinyin (docs/exec-cli.md, "products and pinyin"). The catalogue, from
// head office's change feed and the store's own product_put, found by prefix keys (name, name
// words, pinyin, sku, barcode; core's productSearchKeys); members gain their name's pinyin as
// name search keys (addVersion7PinyinKeys).
constexpr std::string_view kV7 = R"sql(
CREATE TABLE products (
  sku        TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  price      INTEGER NOT NULL CHECK (price >= 0),   -- 1/10000
  barcode    TEXT UNIQUE,
  category   TEXT,
  source     TEXT NOT NULL CHECK (source IN ('hq', 'store')),
  updated_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE product_keys (
  key TEXT NOT NULL,
  sku TEXT NOT NULL REFERENCES products(sku),
  PRIMARY KEY (key, sku)
) WITHOUT ROWID;
CREATE INDEX product_keys_sku ON product_keys(sku);
)sql";

// Version 8: survey answers by dimension (docs/configuration.md, [survey]): the answers as the
// survey.answered event carries them, a JSON object {"<dimension>": 1..5}; NULL when none.
constexpr std::string_view kV8 = R"sql(
ALTER TABLE surveys ADD COLUMN dimensions TEXT;
)sql";

// Version 9: staff on every record (docs/terminal-store.md): who made each sale, refund and
// redemption, enrolled each member and took each survey answer, for the end of day per cashier.
// Rows from before stay without (the day's figures show them as "not recorded").
constexpr std::string_view kV9 = R"sql(
ALTER TABLE sales ADD COLUMN staff_id TEXT;
ALTER TABLE refunds ADD COLUMN staff_id TEXT;
ALTER TABLE redemptions ADD COLUMN staff_id TEXT;
ALTER TABLE surveys ADD COLUMN staff_id TEXT;
ALTER TABLE members ADD COLUMN enrolled_staff TEXT;
)sql";

// Version 10: online authorisation attempts (docs/terminal-store.md, "Online redemptions"). A
// row is committed before head office is asked to reserve points and removed by the transaction
// that ends the attempt: the redemption's or sale's own, or the one appending its
// points.redemption_released event. A row a crash left behind is released at the next start.
// after_seq: the outbox's highest seq when the attempt began (sent with the request).
constexpr std::string_view kV10 = R"sql(
CREATE TABLE redemption_attempts (
  redemption_id TEXT PRIMARY KEY,   -- the redemption's id, or the sale's for points paid in a sale
  member_id     TEXT NOT NULL,
  points        INTEGER NOT NULL,
  after_seq     INTEGER NOT NULL,
  started_at    TEXT NOT NULL
);
)sql";

// Version 11: fewer pages written per sale (docs/terminal-store.md, "Few pages per commit").
// sale_lines was keyed by (sale_id, line_no) WITHOUT ROWID: every append to its last leaf that
// overflowed rebalanced three full siblings and their parent (about 4 pages a 20-line sale). Lines
// are now rows of a rowid table, a sale's lines consecutive, found through the range its sales row
// names (first_line..last_line): appends fill a new page at the end, and no index is kept for them.
// And sales_member covers the spend a tier is reckoned on.
constexpr std::string_view kV11 = R"sql(
CREATE TABLE sale_lines_v11 (
  line_ref     INTEGER PRIMARY KEY,   -- consecutive within a sale: sales.first_line..last_line
  sale_id      TEXT NOT NULL REFERENCES sales(sale_id),
  line_no      INTEGER NOT NULL,
  sku          TEXT NOT NULL,
  description  TEXT,
  qty          INTEGER NOT NULL,
  unit_price   INTEGER NOT NULL,      -- 1/10000
  amount       INTEGER NOT NULL,      -- minor units
  refunded_qty INTEGER NOT NULL DEFAULT 0,
  category     TEXT,
  discount     INTEGER NOT NULL DEFAULT 0   -- member discount, minor units
);
INSERT INTO sale_lines_v11(sale_id, line_no, sku, description, qty, unit_price, amount, refunded_qty, category, discount)
  SELECT sale_id, line_no, sku, description, qty, unit_price, amount, refunded_qty, category, discount
  FROM sale_lines ORDER BY sale_id, line_no;
ALTER TABLE sales ADD COLUMN first_line INTEGER;
ALTER TABLE sales ADD COLUMN last_line INTEGER;
UPDATE sales SET first_line = r.first_line, last_line = r.last_line
  FROM (SELECT sale_id, MIN(line_ref) AS first_line, MAX(line_ref) AS last_line FROM sale_lines_v11 GROUP BY sale_id) AS r
  WHERE r.sale_id = sales.sale_id;
DROP TABLE sale_lines;
ALTER TABLE sale_lines_v11 RENAME TO sale_lines;

-- A member's spend over the tier window (read by every member sale) from the index alone, not
-- one row of sales per earlier sale.
DROP INDEX sales_member;
CREATE INDEX sales_member ON sales(member_id, at, total);
)sql";

constexpr db::Migration kMigrations[] = {{1, kV1},          {2, kV2}, {3, kV3}, {4, kFeedback},
                                         {5, kV5, &sealPersonalData, true}, {6, kV6},
                                         {7, kV7, &addVersion7PinyinKeys}, {8, kV8}, {9, kV9}, {10, kV10},
                                         {11, kV11, nullptr, true}};

// The credentials file (DIR/credentials.db, attached as `credentials`): the staff accounts with
// their PIN hashes and the link to head office with its bearer token, kept out of the member
// database. Version 1 holds version 4's staff and hq_link tables as they were.
constexpr std::string_view kCredentialsV1 = R"sql(
-- Staff who log in at the counter; PINs only as argon2id hashes (libsodium).
CREATE TABLE credentials.staff (
  staff_id        TEXT PRIMARY KEY,
  name            TEXT NOT NULL,
  role            TEXT NOT NULL CHECK (role IN ('cashier', 'supervisor')),
  pin_hash        TEXT NOT NULL,
  failed_attempts INTEGER NOT NULL DEFAULT 0,
  active          INTEGER NOT NULL DEFAULT 1
);

-- What `register` stored (sync-protocol.md).
CREATE TABLE credentials.hq_link (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  hq_url        TEXT NOT NULL,
  ca_pem        TEXT NOT NULL,     -- the only CA trusted for head office
  token         TEXT NOT NULL,     -- bearer token bound to this terminal
  pin           TEXT,              -- optional sha256//BASE64 of head office's public key
  store_id      TEXT NOT NULL,
  terminal_id   TEXT NOT NULL,
  timezone      TEXT NOT NULL,
  registered_at TEXT NOT NULL
);
)sql";

constexpr db::Migration kCredentialsMigrations[] = {{1, kCredentialsV1}};


}  // namespace

std::span<const db::Migration> terminalMigrations() { return kMigrations; }

std::span<const db::Migration> credentialsMigrations() { return kCredentialsMigrations; }

void moveVersion4Credentials(db::Database& db) {
  if (db::hasTable(db, "staff")) {
    db.exec("INSERT OR REPLACE INTO credentials.staff(staff_id, name, role, pin_hash, failed_attempts, active) "
            "SELECT staff_id, name, role, pin_hash, failed_attempts, active FROM main.staff");
  }
  if (db::hasTable(db, "hq_link")) {
    db.exec("INSERT OR REPLACE INTO credentials.hq_link(id, hq_url, ca_pem, token, pin, store_id, terminal_id, "
            "timezone, registered_at) SELECT id, hq_url, ca_pem, token, pin, store_id, terminal_id, timezone, "
            "registered_at FROM main.hq_link");
  }
}

}  // namespace loyalty::terminal
