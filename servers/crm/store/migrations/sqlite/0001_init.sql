-- Initial CRM schema for SQLite. Timestamps are UTC text in a fixed-width
-- RFC 3339 form (so they sort as text); dates are YYYY-MM-DD text.

CREATE TABLE owners (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL UNIQUE,
    version    INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE companies (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    domain     TEXT NOT NULL DEFAULT '',
    industry   TEXT NOT NULL DEFAULT '',
    owner_id   INTEGER REFERENCES owners (id) ON DELETE SET NULL,
    properties TEXT NOT NULL DEFAULT '{}',
    version    INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX companies_owner ON companies (owner_id);
CREATE INDEX companies_domain ON companies (lower(domain));

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL DEFAULT '',
    last_name  TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL DEFAULT '',
    phone      TEXT NOT NULL DEFAULT '',
    title      TEXT NOT NULL DEFAULT '',
    company_id INTEGER REFERENCES companies (id) ON DELETE SET NULL,
    owner_id   INTEGER REFERENCES owners (id) ON DELETE SET NULL,
    properties TEXT NOT NULL DEFAULT '{}',
    version    INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX contacts_company ON contacts (company_id);
CREATE INDEX contacts_owner ON contacts (owner_id);
CREATE INDEX contacts_email ON contacts (lower(email));
CREATE INDEX contacts_name ON contacts (lower(first_name), lower(last_name));

CREATE TABLE deals (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    pipeline     TEXT NOT NULL,
    stage        TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'won', 'lost')),
    amount_minor INTEGER NOT NULL DEFAULT 0 CHECK (amount_minor >= 0),
    currency     TEXT NOT NULL,
    close_date   TEXT,
    company_id   INTEGER REFERENCES companies (id) ON DELETE SET NULL,
    owner_id     INTEGER REFERENCES owners (id) ON DELETE SET NULL,
    closed_at    TEXT,
    properties   TEXT NOT NULL DEFAULT '{}',
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX deals_company ON deals (company_id);
CREATE INDEX deals_owner ON deals (owner_id);
CREATE INDEX deals_pipeline ON deals (pipeline, status, stage);

CREATE TABLE deal_contacts (
    deal_id    INTEGER NOT NULL REFERENCES deals (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    PRIMARY KEY (deal_id, contact_id)
);
CREATE INDEX deal_contacts_contact ON deal_contacts (contact_id);

CREATE TABLE activities (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('note', 'call', 'email', 'meeting', 'task')),
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL DEFAULT '',
    occurred_at TEXT NOT NULL,
    due_date    TEXT,
    done        INTEGER NOT NULL DEFAULT 0,
    company_id  INTEGER REFERENCES companies (id) ON DELETE SET NULL,
    contact_id  INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
    deal_id     INTEGER REFERENCES deals (id) ON DELETE SET NULL,
    owner_id    INTEGER REFERENCES owners (id) ON DELETE SET NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX activities_company ON activities (company_id, occurred_at);
CREATE INDEX activities_contact ON activities (contact_id, occurred_at);
CREATE INDEX activities_deal ON activities (deal_id, occurred_at);
CREATE INDEX activities_tasks ON activities (kind, done, due_date);

-- A create retried with the same key returns the record it made.
CREATE TABLE idempotency_keys (
    kind         TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    record_id    INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);

-- Full-text indexes: external-content FTS5 tables kept in step by triggers.
-- prefix='2 3' makes the "smi*" prefix queries of search fast.
CREATE VIRTUAL TABLE contacts_fts USING fts5(
    first_name, last_name, email, title,
    content='contacts', content_rowid='id', prefix='2 3', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER contacts_fts_ai AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts (rowid, first_name, last_name, email, title)
    VALUES (new.id, new.first_name, new.last_name, new.email, new.title);
END;
CREATE TRIGGER contacts_fts_ad AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, first_name, last_name, email, title)
    VALUES ('delete', old.id, old.first_name, old.last_name, old.email, old.title);
END;
CREATE TRIGGER contacts_fts_au AFTER UPDATE OF first_name, last_name, email, title ON contacts BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, first_name, last_name, email, title)
    VALUES ('delete', old.id, old.first_name, old.last_name, old.email, old.title);
    INSERT INTO contacts_fts (rowid, first_name, last_name, email, title)
    VALUES (new.id, new.first_name, new.last_name, new.email, new.title);
END;

CREATE VIRTUAL TABLE companies_fts USING fts5(
    name, domain, industry,
    content='companies', content_rowid='id', prefix='2 3', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER companies_fts_ai AFTER INSERT ON companies BEGIN
    INSERT INTO companies_fts (rowid, name, domain, industry) VALUES (new.id, new.name, new.domain, new.industry);
END;
CREATE TRIGGER companies_fts_ad AFTER DELETE ON companies BEGIN
    INSERT INTO companies_fts (companies_fts, rowid, name, domain, industry)
    VALUES ('delete', old.id, old.name, old.domain, old.industry);
END;
CREATE TRIGGER companies_fts_au AFTER UPDATE OF name, domain, industry ON companies BEGIN
    INSERT INTO companies_fts (companies_fts, rowid, name, domain, industry)
    VALUES ('delete', old.id, old.name, old.domain, old.industry);
    INSERT INTO companies_fts (rowid, name, domain, industry) VALUES (new.id, new.name, new.domain, new.industry);
END;

CREATE VIRTUAL TABLE deals_fts USING fts5(
    name, content='deals', content_rowid='id', prefix='2 3', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER deals_fts_ai AFTER INSERT ON deals BEGIN
    INSERT INTO deals_fts (rowid, name) VALUES (new.id, new.name);
END;
CREATE TRIGGER deals_fts_ad AFTER DELETE ON deals BEGIN
    INSERT INTO deals_fts (deals_fts, rowid, name) VALUES ('delete', old.id, old.name);
END;
CREATE TRIGGER deals_fts_au AFTER UPDATE OF name ON deals BEGIN
    INSERT INTO deals_fts (deals_fts, rowid, name) VALUES ('delete', old.id, old.name);
    INSERT INTO deals_fts (rowid, name) VALUES (new.id, new.name);
END;

CREATE VIRTUAL TABLE activities_fts USING fts5(
    subject, body, content='activities', content_rowid='id', prefix='2 3', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER activities_fts_ai AFTER INSERT ON activities BEGIN
    INSERT INTO activities_fts (rowid, subject, body) VALUES (new.id, new.subject, new.body);
END;
CREATE TRIGGER activities_fts_ad AFTER DELETE ON activities BEGIN
    INSERT INTO activities_fts (activities_fts, rowid, subject, body) VALUES ('delete', old.id, old.subject, old.body);
END;
CREATE TRIGGER activities_fts_au AFTER UPDATE OF subject, body ON activities BEGIN
    INSERT INTO activities_fts (activities_fts, rowid, subject, body) VALUES ('delete', old.id, old.subject, old.body);
    INSERT INTO activities_fts (rowid, subject, body) VALUES (new.id, new.subject, new.body);
END;
