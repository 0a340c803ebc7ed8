"""Redaction of passwords that have no `key=` before them: command lines (mysql, sshpass, curl, redis-cli),
prose ("with password 'x'", "the password is x"), SQL (IDENTIFIED BY, PASSWORD 'x') and a one-line SMTP AUTH
exchange; and the ordinary log text that looks like them and must stay as it is.

Each form is checked for the exact output (the words around the value stay readable), idempotence and
line count; the look-alikes must come out unchanged; and the forms go through the real log check and both
renderers, as "show the mta log" shows them.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest

from bot.kb import KnowledgeBase
from bot.redact import REDACTED, redact, redact_and_clip, redact_lines
from bot.render import slack as slack_render
from bot.render import text as text_render
from tests.secrets import Case, as_log_lines, assert_no_secret

R = REDACTED

# (text, secret, the exact redacted text)
FORMS: list[tuple[str, str, str]] = [
    # mysql and its tools: -pVALUE is always the password
    ("mysql -u root -pMyS3cretRootPw -h db", "MyS3cretRootPw", f"mysql -u root -p{R} -h db"),
    ("$ mariadb -u root -pMariaPw_99", "MariaPw_99", f"$ mariadb -u root -p{R}"),
    (
        "mysqldump -uroot -p'My S3cret Pw' neolane > /b/n.sql",
        "My S3cret Pw",
        f"mysqldump -uroot -p'{R}' neolane > /b/n.sql",
    ),
    ('/usr/bin/mysqladmin -p"Dq9Pw!x" status', "Dq9Pw!x", f'/usr/bin/mysqladmin -p"{R}" status'),
    ("mysql -u root -pMyS3cretSemi; ssh -p 22 host", "MyS3cretSemi", f"mysql -u root -p{R}; ssh -p 22 host"),
    ("mysql -pNumeric1234 db | gzip -p 4 > x.gz", "Numeric1234", f"mysql -p{R} db | gzip -p 4 > x.gz"),
    # mysql -p VALUE / --password VALUE: hidden unless a number, a path, an option or a redirection
    ("mysql -u root -p MyS3cretSpacePw", "MyS3cretSpacePw", f"mysql -u root -p {R}"),
    ("mysql -u root --password Zq9LongPw2 db", "Zq9LongPw2", f"mysql -u root --password {R} db"),
    (
        "/usr/bin/mysql --user=root --password=Zq9LongPw db",
        "Zq9LongPw",
        f"/usr/bin/mysql --user=root --password={R} db",
    ),
    # sshpass: -p is always the password (it has no port), numbers included; the wrapped ssh's -p stays
    ("sshpass -p SshPassPw_909 ssh host", "SshPassPw_909", f"sshpass -p {R} ssh host"),
    ("sshpass -p 90210577 ssh -p 22 admin@host", "90210577", f"sshpass -p {R} ssh -p 22 admin@host"),
    ("sshpass -pAttachedPw1 scp -P 22 a b:", "AttachedPw1", f"sshpass -p{R} scp -P 22 a b:"),
    # curl: the password part of -u/--user user:password
    ("curl -u admin:CurlUserPw_12 https://x", "CurlUserPw_12", f"curl -u admin:{R} https://x"),
    ("curl --user admin:CurlUserPw_13 https://x", "CurlUserPw_13", f"curl --user admin:{R} https://x"),
    ("curl --user=admin:CurlEqPw_14 https://x", "CurlEqPw_14", f"curl --user=admin:{R} https://x"),
    ("curl -sS -u 'admin:Quoted Pw 15' https://x", "Quoted Pw 15", f"curl -sS -u 'admin:{R}' https://x"),
    (
        "curl -x http://p:3128 -U proxy:ProxyPw_16 https://x",
        "ProxyPw_16",
        f"curl -x http://p:3128 -U proxy:{R} https://x",
    ),
    # redis-cli: -a and --pass
    ("redis-cli -a RedisAuthPw_55 ping", "RedisAuthPw_55", f"redis-cli -a {R} ping"),
    (
        "redis-cli -h r1 -p 6379 --pass RedisPassPw_56 ping",
        "RedisPassPw_56",
        f"redis-cli -h r1 -p 6379 --pass {R} ping",
    ),
    ("redis-cli --pass=RedisEqPw_57 info", "RedisEqPw_57", f"redis-cli --pass={R} info"),
    # SQL IDENTIFIED BY: quoted always, unquoted in a USER/ROLE/GRANT/CONNECT TO statement
    ("ALTER USER neolane IDENTIFIED BY 'OraIdentBy_77'", "OraIdentBy_77", f"ALTER USER neolane IDENTIFIED BY '{R}'"),
    ("alter user neolane identified by OraIdentBy_78;", "OraIdentBy_78", f"alter user neolane identified by {R};"),
    ('CREATE USER app Identified By "OraQuoted_79"', "OraQuoted_79", f'CREATE USER app Identified By "{R}"'),
    (
        "CREATE USER 'u'@'%' IDENTIFIED WITH mysql_native_password BY 'NativePw_80';",
        "NativePw_80",
        f"CREATE USER 'u'@'%' IDENTIFIED WITH mysql_native_password BY '{R}';",
    ),
    (
        "CREATE DATABASE LINK l CONNECT TO u IDENTIFIED BY LinkPw_81 USING 'tns'",
        "LinkPw_81",
        f"CREATE DATABASE LINK l CONNECT TO u IDENTIFIED BY {R} USING 'tns'",
    ),
    ("ALTER USER x IDENTIFIED BY 'it''s_a_Pw_82';", "s_a_Pw_82", f"ALTER USER x IDENTIFIED BY '{R}';"),
    # SQL PASSWORD '...'
    ("CREATE ROLE app LOGIN PASSWORD 'PgRolePw_42'", "PgRolePw_42", f"CREATE ROLE app LOGIN PASSWORD '{R}'"),
    (
        "ALTER ROLE app WITH ENCRYPTED PASSWORD 'md5abcdef0123';",
        "md5abcdef0123",
        f"ALTER ROLE app WITH ENCRYPTED PASSWORD '{R}';",
    ),
    ("SET PASSWORD FOR 'u'@'h' = 'SetForPw_43';", "SetForPw_43", f"SET PASSWORD FOR 'u'@'h' = '{R}';"),
    # a quoted value after the word password/passwd/pwd/wachtwoord in prose
    (
        "Logon failed for operator 'admin' with password 'Winter2025!x'",
        "Winter2025!x",
        f"Logon failed for operator 'admin' with password '{R}'",
    ),
    ('login admin passwd "Passwd_Q_1" refused', "Passwd_Q_1", f'login admin passwd "{R}" refused'),
    ("connect with pwd 'PwdQuoted_2'", "PwdQuoted_2", f"connect with pwd '{R}'"),
    ("inloggen met wachtwoord 'Wachtwoord_Q3' mislukt", "Wachtwoord_Q3", f"inloggen met wachtwoord '{R}' mislukt"),
    # password is/was X
    ("the password is hunter2hunter2", "hunter2hunter2", f"the password is {R}"),
    ("The password was Spring2024!", "Spring2024!", f"The password was {R}"),
    ("password was changed to Chg_Pw_7 by admin", "Chg_Pw_7", f"password was changed to {R} by admin"),
    ("password is: Colon_Pw_8.", "Colon_Pw_8", f"password is: {R}."),
    ("(the password is abc123xyz)", "abc123xyz", f"(the password is {R})"),
    ("het wachtwoord is Geheim123!", "Geheim123!", f"het wachtwoord is {R}"),
    ("Passwort ist Geheim456", "Geheim456", f"Passwort ist {R}"),
    ("the password is 'plainword'", "plainword", f"the password is '{R}'"),
    # any command's option named for a secret, its value after a space
    ("./deploy.sh --password Space-Dash-Pw2 --env prod", "Space-Dash-Pw2", f"./deploy.sh --password {R} --env prod"),
    ("keytool -list -storepass changeit -v", "changeit", f"keytool -list -storepass {R} -v"),
    (
        "keytool -importkeystore -srcstorepass Src-St0re-Pw -deststorepass Dst-St0re-Pw",
        "Dst-St0re-Pw",
        f"keytool -importkeystore -srcstorepass {R} -deststorepass {R}",
    ),
    ("rotate --passwd 'Quoted Passwd 1' -v", "Quoted Passwd 1", f"rotate --passwd '{R}' -v"),
    ("openssl enc -pass Pass-Fl4g-x -in a", "Pass-Fl4g-x", f"openssl enc -pass {R} -in a"),
    ("plink -ssh -pw Pl1nk-Pw-9 admin@app1", "Pl1nk-Pw-9", f"plink -ssh -pw {R} admin@app1"),
    ("tool --api-token Tok3n-Flag-1 run", "Tok3n-Flag-1", f"tool --api-token {R} run"),
    ("New-LocalUser -Name svc -Password Ps-Pw-42x", "Ps-Pw-42x", f"New-LocalUser -Name svc -Password {R}"),
    # one-letter password options of sqlcmd, bcp, the LDAP clients, the MongoDB shells; smbclient's user%pw
    (
        'sqlcmd -S sql3 -U sa -P Sqlcmd-P-Pw1 -Q "select 1"',
        "Sqlcmd-P-Pw1",
        f'sqlcmd -S sql3 -U sa -P {R} -Q "select 1"',
    ),
    ("bcp nms.dbo.t out t.dat -S sql3 -U sa -PBcp-Pw-2", "Bcp-Pw-2", f"bcp nms.dbo.t out t.dat -S sql3 -U sa -P{R}"),
    (
        "ldapsearch -x -D cn=admin,dc=acme -w Ld4psearch-Pw -H ldap://ldap1",
        "Ld4psearch-Pw",
        f"ldapsearch -x -D cn=admin,dc=acme -w {R} -H ldap://ldap1",
    ),
    ("ldapmodify -D cn=a -wLdapMod-Pw3 -f x.ldif", "LdapMod-Pw3", f"ldapmodify -D cn=a -w{R} -f x.ldif"),
    ("mongosh -u admin -p M0ngo-Pw1 nms", "M0ngo-Pw1", f"mongosh -u admin -p {R} nms"),
    ("smbclient //srv/share -U admin%Smb-Pw-1", "Smb-Pw-1", f"smbclient //srv/share -U admin%{R}"),
    # the value of a shell variable set for the command after it; the command stays
    ("PGPASSWORD=PgEnv-Cmd-Pw psql -h pg5 -U nms", "PgEnv-Cmd-Pw", f"PGPASSWORD={R} psql -h pg5 -U nms"),
    ("MYSQL_PWD=My-Env-Pw-5 /usr/bin/mysqldump nms", "My-Env-Pw-5", f"MYSQL_PWD={R} /usr/bin/mysqldump nms"),
    # a whole-line value ends where the next assignment starts; an unquoted value holds & and #
    ("pass=Short1!x user=admin", "Short1!x", f"pass={R} user=admin"),
    ("password=Semi;Colon-31;host=db", "Semi;Colon-31", f"password={R};host=db"),
    ("smtp password=Qw!e&rt-Yu#io relay 550", "Qw!e&rt-Yu#io", f"smtp password={R} relay 550"),
    (
        "jdbc:x://db?user=nms&password=Jdbc-Pw-9x8y&ssl=true",
        "Jdbc-Pw-9x8y",
        f"jdbc:x://db?user=nms&password={R}&ssl=true",
    ),
    ("login failed (user=admin, password=Paren-Pw-11)", "Paren-Pw-11", f"login failed (user=admin, password={R})"),
    # XML: Spring's <value> child, Campaign's option records (either attribute order)
    (
        '<property name="smtp.password"><value>Spring-Xml-Pw-7</value></property>',
        "Spring-Xml-Pw-7",
        f'<property name="smtp.password"><value>{R}</value></property>',
    ),
    (
        '<option name="NmsTracking_Password" stringValue="Trk-0pt-Pw-21"/>',
        "Trk-0pt-Pw-21",
        f'<option name="NmsTracking_Password" stringValue="{R}"/>',
    ),
    (
        '<option internalName="NmsTracking_Password" dataType="6" stringValue="Trk-1nt-Pw-22"/>',
        "Trk-1nt-Pw-22",
        f'<option internalName="NmsTracking_Password" dataType="6" stringValue="{R}"/>',
    ),
    (
        '<option stringValue="Trk-Rev-Pw-23" name="NmsTracking_Password"/>',
        "Trk-Rev-Pw-23",
        f'<option stringValue="{R}" name="NmsTracking_Password"/>',
    ),
    (
        '{"name": "NmsTracking_Password", "stringValue": "Trk-Js-24"}',
        "Trk-Js-24",
        f'{{"name": "NmsTracking_Password", "stringValue": "{R}"}}',
    ),
    # Campaign JavaScript logon, Adobe's JS SDK
    (
        'var cnx = xtk.session.Logon("admin", "Js-Log0n-Pw", <params/>);',
        "Js-Log0n-Pw",
        f'var cnx = xtk.session.Logon("admin", "{R}", <params/>);',
    ),
    ("NLWS.xtkSession.logon('ops', 'Js-l0gon-2')", "Js-l0gon-2", f"NLWS.xtkSession.logon('ops', '{R}')"),
    (
        'ConnectionParameters.ofUserAndPassword(url, "admin", "Sdk-Pw-3x")',
        "Sdk-Pw-3x",
        f'ConnectionParameters.ofUserAndPassword(url, "admin", "{R}")',
    ),
    # prose: the password for/of something is ..., and a second one in the same sentence
    (
        "The new password for prod is: Gr33n-Apple-77 (please rotate)",
        "Gr33n-Apple-77",
        f"The new password for prod is: {R} (please rotate)",
    ),
    ("The password of the admin account is Adm1n-Acc!", "Adm1n-Acc!", f"The password of the admin account is {R}"),
    (
        "the sftp password is hunter2! and the backup one is Wint3r#Backup",
        "Wint3r#Backup",
        f"the sftp password is {R} and the backup one is {R}",
    ),
    ("passwd for root changed to R00t-Chg-Pw", "R00t-Chg-Pw", f"passwd for root changed to {R}"),
    ("mot de passe : Fr4nce-Pw-29", "Fr4nce-Pw-29", f"mot de passe : {R}"),
    # SMTP AUTH on one line: every base64 argument
    ("SMTP AUTH LOGIN [REDACTED] UGFzc3dvcmRTbXRwMTIz", "UGFzc3dvcmRTbXRwMTIz", f"SMTP AUTH LOGIN {R} {R}"),
    ("C: AUTH LOGIN bmVvbGFuZQ== U210cFBhc3M5OQ==", "U210cFBhc3M5OQ==", f"C: AUTH LOGIN {R} {R}"),
    (
        "AUTH LOGIN dXNlcm5hbWU= UGFzc3dvcmRTbXRw 235 2.7.0 Authentication successful",
        "UGFzc3dvcmRTbXRw",
        f"AUTH LOGIN {R} {R} 235 2.7.0 Authentication successful",
    ),
]

# Ordinary text that looks like the forms above: it must come out unchanged.
LOOK_ALIKES = [
    # -p with a number, a path, an option, a redirection, or after another command
    "ssh -p 22 host",
    "mkdir -p /usr/local/neolane/nl6/var",
    "docker run -p 8080:8080 image",
    "nc -p 8080 host 25",
    "psql -h db -p 5432 -U neolane campaign",
    "mysql -u root -p 3306",
    "mysql -u root -p",
    "mysql -u root -p -h db campaign",
    "mysql -u root -p < /tmp/dump.sql",
    "mysql -u root -p /tmp/x",
    "systemctl restart mysql && mkdir -p /x",
    "MySQL error: mkdir -p tmpdir failed",
    "tar -cpf backup.tar /var/lib/mysql",
    "sshpass -e ssh -p 22 host",
    "sshpass -f /etc/pw ssh -p 2222 host",
    "nlserver pdump",
    "nlserver pdump -full",
    "nlserver config -internalpassword",
    # curl and redis-cli without a password on the line
    "curl -u admin https://x",
    "curl: (7) Failed to connect to localhost port 8080 after 0 ms: Couldn't connect to server",
    "docker run -u 1000:1000 image",
    "chown --user app:app /x",
    "ssh -p 22 host -a foo",
    "redis-cli -h r1 -p 6379 ping",
    # the word password in ordinary log text
    "password expired for user x",
    "Password expired for operator 'admin'",
    "password reset",
    "Your password was reset.",
    "Invalid password",
    "Invalid password for operator 'admin'",
    "The password is incorrect.",
    "the password is case-sensitive",
    "Password is too short (8 characters minimum).",
    "password is 90 days old",
    "password was changed by admin",
    "password is ********",
    "password is N/A",
    "wachtwoord is verlopen",
    "passwords 'a' and 'b' differ",
    "Password successfully changed for account 'internal'",
    '2024-05-31T08:42:19.124Z\t2320\t2320\t1\terror\tlog\tODB-240000 ODBC error: FATAL:  password authentication failed for user "neolane"',
    "with password ''",
    # identified by, outside a SQL statement
    "process identified by pid 1234",
    "the workflow was identified by its internal name",
    "user identified externally",
    "CREATE USER u IDENTIFIED BY RANDOM PASSWORD;",
    # SMTP
    "250-AUTH PLAIN LOGIN CRAM-MD5",
    "250 AUTH LOGIN PLAIN XOAUTH2",
    "SMTP AUTH LOGIN [REDACTED] failed with 535 5.7.8 Authentication credentials invalid",
    # options that take no value, a variable, a sentence about the option
    "the --password option is required",
    "use --password to give it on the command line",
    "docker login --password-stdin -u deploy registry.example.invalid",
    "psql --no-password -h pg5 -U nms campaign",
    "ansible-playbook --ask-become-pass site.yml",
    "nlserver config -setinternalpassword -instance:prod",
    "rotate --password $NEW_PW",
    "ldapsearch -x -W -D cn=admin -H ldap://ldap1",
    "sqlcmd -S sql3 -E -Q 'select 1'",
    # the password word in sentences that carry none
    "password for user admin is expired",
    "the password for prod is 90 days old",
    "Access denied for user 'nms'@'localhost' (using password: YES)",
    "Access denied for user 'root'@'localhost' (using password: NO)",
    # evidence next to a secret-looking word: fingerprints, revisions, option records that are no password
    "Host key SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s (ED25519)",
    "256 SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s root@app1 (ED25519)",
    "git revision 550c410e1b2d3c4e5f6a7b8c9d0e1f2a3b4c5d6e",
    '<option name="NmsTracking_Pointer" stringValue="0x00000000000A0000"/>',
    # Campaign log lines
    "2024-05-31T08:42:12.124Z\t2320\t2320\t1\tinfo\tlog\tMessage delivery batch processed (12 messages)",
    "2024-05-31T08:42:12.512Z\t3120\t3120\t1\terror\tlog\tPGS-220000 PostgreSQL error: FATAL: remaining connection slots are reserved (iRc=-2006)",
    "2024-05-31T08:42:12.901Z\t4111\t4111\t1\tinfo\tlog\tTracking logs written: 512 entries to /usr/local/neolane/nl6/var/prod/redir/log/0x00000000000A0000.log",
]


@pytest.mark.parametrize(("text", "secret", "expected"), FORMS, ids=[f[1] for f in FORMS])
def test_each_form_hides_the_value_and_keeps_the_words(text: str, secret: str, expected: str) -> None:
    assert secret in text
    out = redact(text)
    assert out == expected
    assert secret not in out
    assert redact(out) == out  # idempotent


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_stay_unchanged(text: str) -> None:
    assert redact(text) == text


def test_all_forms_in_one_campaign_log_tail() -> None:
    """As a module log shows them: dated Campaign lines, one text, redacted whole and line by line."""
    when = datetime(2024, 5, 31, 8, 42, tzinfo=timezone.utc)
    cases = [Case(f"form-{i}", "log", text, (secret,)) for i, (text, secret, _) in enumerate(FORMS)]
    log = "\n".join(as_log_lines(c, when, pid=2320 + i) for i, c in enumerate(cases))
    log = "\n".join([log, *LOOK_ALIKES])
    out = redact(log)
    assert_no_secret(out, cases, where="a module log")
    assert out.count("\n") == log.count("\n")
    assert redact(out) == out
    for text in LOOK_ALIKES:
        assert text in out.split("\n")
    lines = redact_lines(log.split("\n"))
    assert_no_secret("\n".join(lines), cases, where="redact_lines")
    assert_no_secret("\n".join(redact_and_clip(line, 60) for line in log.split("\n")), cases, where="clipped")


def test_forms_inside_json_and_escaped_strings() -> None:
    doc = {"cmd": "mysql -u root -pJsonPw_77 -h db", "msg": "with password 'Json_Q_Pw_78'", "rc": 0}
    out = redact(json.dumps(doc))
    assert json.loads(out) == {"cmd": f"mysql -u root -p{R} -h db", "msg": f"with password '{R}'", "rc": 0}
    inner = json.dumps({"log": 'login failed with password "Esc_Q_Pw_79" | curl -u a:EscCurl_80 x'})
    out = redact(inner)
    assert "Esc_Q_Pw_79" not in out and "EscCurl_80" not in out
    assert json.loads(out)["log"] == f'login failed with password "{R}" | curl -u a:{R} x'


def test_forms_in_text_whose_lower_case_changes_length_and_with_crlf() -> None:
    """A character whose lower case is longer ("İ") moves offsets: the forms are found all the same (the
    carriage returns go, as every control character does)."""
    text = (
        "İ mysql -u root -pMyS3cretRootPw -h db; the password is hunter2hunter2\r\n"
        "İ AUTH LOGIN dXNlcg== UGFzc3dvcmQ=\r\n"
        "İ ALTER USER x IDENTIFIED BY 'Ora_Pw_1' with password 'Q_Pw_2'\r\n"
    )
    assert redact(text) == (
        f"İ mysql -u root -p{R} -h db; the password is {R}\n"
        f"İ AUTH LOGIN {R} {R}\n"
        f"İ ALTER USER x IDENTIFIED BY '{R}' with password '{R}'\n"
    )


def test_mysql_space_value_is_hidden_only_where_it_stands() -> None:
    """`mysql -p VALUE` may be a database name: hidden after -p, not elsewhere in the text; a value that is
    surely a password (`-pVALUE`) is hidden wherever else it occurs."""
    text = "mysql -u root -p campaign_prod\nERROR 1049: Unknown database 'campaign_prod'"
    assert redact(text) == f"mysql -u root -p {R}\nERROR 1049: Unknown database 'campaign_prod'"
    text = "mysql -u root -pEchoedPw_91 db\nAccess denied: EchoedPw_91"
    assert redact(text) == f"mysql -u root -p{R} db\nAccess denied: {R}"


def test_options_of_another_command_on_the_line_are_not_read() -> None:
    assert (
        redact("mysql -pA1b2C3d4 db; mkdir -p /tmp/x && ssh -p 22 h")
        == f"mysql -p{R} db; mkdir -p /tmp/x && ssh -p 22 h"
    )
    assert (
        redact("curl -s https://x | redis-cli -a RPw_92 -x set k") == f"curl -s https://x | redis-cli -a {R} -x set k"
    )
    assert redact("echo curl; ssh -u a:b host") == "echo curl; ssh -u a:b host"
    assert redact("libcurl -u a:NotCurlPw") == "libcurl -u a:NotCurlPw"


def test_a_process_listing_is_redacted() -> None:
    """`ps` output: argv joined with spaces, quotes gone."""
    ps = (
        "  PID USER     COMMAND\n"
        " 4242 root     mysqldump -u root -pPs_Pw;with;semis --all-databases\n"
        " 4243 root     sshpass -p PsSsh_93 rsync -e ssh -p 22 /a b:/c\n"
        " 4244 neolane  /usr/local/neolane/nl6/bin/nlserver mta -instance:prod -tracefilter:*"
    )
    out = redact(ps)
    assert "Ps_Pw" not in out and "semis" not in out and "PsSsh_93" not in out
    assert "-e ssh -p 22 /a b:/c" in out and "nlserver mta -instance:prod -tracefilter:*" in out


def test_new_forms_stay_linear_on_hostile_input() -> None:
    """Texts built to make a careless scanner quadratic (each ~100 KB) still take well under a second."""
    hostile = [
        "mysql -p x " * 10000,
        "sshpass -p " * 10000,
        "curl -u a: " * 10000,
        "redis-cli -a " * 8000,
        "mysql -pX\n" * 10000,
        "password is x1 " * 7000,
        "password for " + "x" * 100000,
        "user identified by " * 6000,
        "identified by '" * 7000,
        "AUTH LOGIN " + "dXNl " * 20000,
        "mysql -p'" + "'" * 100000,
        'value="' + "value " * 20000,
        "-storepass x " * 10000,
        'Logon("a", ' * 10000,
        '<property name="password">' * 5000,
        "  password: |\n" + "           > x\n" * 20000,
        'name="password" ' + 'dataType="6" ' * 20000 + 'stringValue="x"',
        "pass=x user=admin " * 8000,
        "(password=x) " * 10000,
        "the password is x1! and the backup one is " * 3000,
        "-----BEGIN RSA PRIVATE KEY-----\n" + "> > MIIE\n" * 30000,
        "<password>\n" + "> " * 50000,
    ]
    for text in hostile:
        start = time.perf_counter()
        out = redact(text)
        assert time.perf_counter() - start < 3.0, text[:20]
        assert redact(out) == out


def test_forms_in_the_mta_log_through_the_log_check_and_renderers(kb: KnowledgeBase) -> None:
    """ "show the mta log": the forms planted in the mta log of a (fake) host come out of the real log check,
    the terminal answer and the Slack blocks redacted."""
    from tests.fakes import fake_host
    from tests.test_checks import NOW, healthy, run
    from tests.test_redact import _diagnosis

    when = datetime.fromtimestamp(NOW - 300, timezone.utc)
    cases = [Case(f"form-{i}", "log", text, (secret,)) for i, (text, secret, _) in enumerate(FORMS)]
    for group in (cases[:18], cases[18:36], cases[36:]):
        log = "\n".join(as_log_lines(c, when) for c in group) + "\n"
        host = healthy(**{"log:var/prod/log/mta.log": f"@@STAT {len(log)} {NOW - 200}@@\n{log}"})
        res, _ = run(kb, {"app1": fake_host(host), "app2": fake_host(healthy())}, ["mta"])
        tails = [f for f in res.findings if f.check == "log" and f.tail]
        assert tails, "the planted log reached no finding"
        assert sum(len(f.tail) for f in tails) >= min(len(group), 20)
        d = _diagnosis(list(res.findings))
        assert_no_secret(json.dumps([f.public() for f in res.findings]), group, where="findings")
        terminal = text_render.diagnosis(d, kb, show_ok=True, show_logs=True)
        assert_no_secret(terminal, group, where="the terminal answer")
        blocks, fallback = slack_render.result_blocks(d, kb)
        assert_no_secret(json.dumps(blocks) + fallback + slack_render.raw_report(d, kb), group, where="Slack")
