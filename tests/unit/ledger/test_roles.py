"""The ledger roles' login URLs: the superuser's URL, as each role, password quoted."""

from custody_ledger.roles import role_url, role_urls


def test_a_role_url_keeps_host_port_database_and_options() -> None:
    url = role_url("postgresql://postgres@127.0.0.1:5433/custody?sslmode=disable", "ledger_app",
                   "p@ss/w:rd")  # fmt: skip
    assert url == "postgresql://ledger_app:p%40ss%2Fw%3Ard@127.0.0.1:5433/custody?sslmode=disable"


def test_every_role_gets_a_url() -> None:
    passwords = {"ledger_owner": "o", "ledger_app": "a", "ledger_reader": "r"}
    urls = role_urls("postgresql://postgres@db/custody", passwords)
    assert urls == {
        "owner": "postgresql://ledger_owner:o@db/custody",
        "app": "postgresql://ledger_app:a@db/custody",
        "reader": "postgresql://ledger_reader:r@db/custody",
    }
