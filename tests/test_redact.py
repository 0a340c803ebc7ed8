from bot.redact import redact


def test_redacts_secrets() -> None:
    cases = {
        '<dbcnx login="neolane" password="s3cr3t!" server="db"/>': "s3cr3t",
        "password=abc123 next": "abc123",
        "token: xoxb-12345-abcdef": "xoxb-12345",
        "ping.jsp?__sessiontoken=monitoring&x=1": "monitoring",
        "nlserver config -setdblogin:PostgreSQL:neo:db/Pa55@dbhost": "Pa55",
        "https://user:pw@host/x": ":pw@",
        "Authorization: Bearer abc.def": "abc.def",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----": "AAAA",
        "xapp-1-A0-123456-abcdef": "123456-abcdef",
    }
    for text, secret in cases.items():
        assert secret not in redact(text), text


def test_keeps_ordinary_output() -> None:
    line = "mta@prod (1234) - 23.0 MB"
    assert redact(line) == line
