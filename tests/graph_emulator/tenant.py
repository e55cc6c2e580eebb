# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The emulated directory: users and app registrations, from a JSON file or the built-in demo tenant."""

import base64
import datetime
import json
import os
import secrets
import threading
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from .clock import CLOCK

# Application permissions that allow each operation, as Microsoft's API pages list them (least first).
REVOKE_PERMISSIONS = ("User.RevokeSessions.All", "User.ReadWrite.All", "Directory.ReadWrite.All")
READ_PERMISSIONS = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
# PATCH /users/{id} with accountEnabled (learn.microsoft.com/graph/api/user-update, "accountEnabled" row).
ENABLE_DISABLE_PERMISSIONS = ("User.EnableDisableAccount.All", "User.ReadWrite.All", "Directory.ReadWrite.All")
# "Who can perform sensitive actions" (learn.microsoft.com/graph/api/resources/users): changing accountEnabled of
# a user who holds a privileged admin role needs, in app-only calls, an Entra role assigned to the app itself.
ROLES_FOR_PRIVILEGED_TARGETS = ("Privileged Authentication Administrator", "Global Administrator")
# Reading groups and their members (group-get, group-list-transitivemembers); hidden membership needs one more.
GROUP_READ_PERMISSIONS = ("GroupMember.Read.All", "Group.Read.All", "Directory.Read.All", "GroupMember.ReadWrite.All",
                          "Group.ReadWrite.All", "Directory.ReadWrite.All")
HIDDEN_MEMBERS_PERMISSION = "Member.Read.Hidden"

DEMO_TENANT_ID = "8b2f6a0e-3c1d-4e5f-9a7b-1c2d3e4f5a6b"
DEMO_DOMAIN = "contoso.onmicrosoft.com"
DEMO_PFX_PASSWORD = "demo-pfx-password"
FINANCE_GROUP_ID = "02bd9fd6-8f93-4758-87c3-1fb73740a315"
FINANCE_PAYABLES_GROUP_ID = "4c8a1e2f-6b3d-4a9e-9c7f-0d2e4b6a8c1f"
CONTRACTORS_GROUP_IDS = ("7a1b2c3d-8e9f-4a0b-9c1d-2e3f4a5b6c7d", "8b2c3d4e-9f0a-4b1c-8d2e-3f4a5b6c7d8e")
BOARD_GROUP_ID = "9c3d4e5f-0a1b-4c2d-9e3f-4a5b6c7d8e9f"
# Groups whose members are not (all) users: Graph's cast to microsoft.graph.user leaves the others out.
KIOSK_DEVICES_GROUP_ID = "a4d5e6f7-1b2c-4d3e-8f4a-5b6c7d8e9f0a"
EMPTY_GROUP_ID = "b5e6f7a8-2c3d-4e4f-9a5b-6c7d8e9f0a1b"
HELPDESK_GROUP_ID = "c6f7a8b9-3d4e-4f5a-8b6c-7d8e9f0a1b2c"


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def graph_time(when=None):
    """Graph's DateTimeOffset form, e.g. 2026-11-24T10:00:00Z (now: by Graph's clock, see clock.py)."""
    when = when or CLOCK.now()
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class User:
    def __init__(self, user_principal_name, object_id=None, display_name=None, user_type="Member",
                 on_premises_sync_enabled=None, admin_roles=()):
        self.id = object_id or str(uuid.uuid4())
        self.user_principal_name = user_principal_name
        self.display_name = display_name or user_principal_name.split("@")[0]
        self.user_type = user_type
        self.account_enabled = True
        # True: mastered in on-premises AD (Entra Connect); null: never synced, as Graph reports it.
        self.on_premises_sync_enabled = on_premises_sync_enabled
        # Names of the Entra admin roles the user holds (not a Graph property; it drives the sensitive-action check).
        self.admin_roles = list(admin_roles)
        self.sign_in_sessions_valid_from = graph_time(datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc))
        self.revocations = 0
        self.account_enabled_writes = 0
        # What a revoke leaves open (issue 27): Graph's JSON of each listed object, as the lists return them.
        self.authentication_methods = [{"@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
                                        "id": "28c10230-6103-485e-b985-444c60001490"}]
        self.owned_objects = []
        self.registered_devices = []
        self.owned_devices = []

    def properties(self):
        """Every property the emulator knows, by Graph name."""
        return {
            "id": self.id,
            "userPrincipalName": self.user_principal_name,
            "displayName": self.display_name,
            "accountEnabled": self.account_enabled,
            "signInSessionsValidFromDateTime": self.sign_in_sessions_valid_from,
            "userType": self.user_type,
            "onPremisesSyncEnabled": self.on_premises_sync_enabled,
            "deletedDateTime": None,
        }


class DirectoryObject:
    """A member that is not a user: a device, an organizational contact or a service principal."""

    def __init__(self, odata_type, display_name, object_id=None):
        self.id = object_id or str(uuid.uuid4())
        self.odata_type = odata_type
        self.display_name = display_name


class Group:
    """A security group; members are users, nested groups and other directory objects, in the order they were
    added."""

    def __init__(self, display_name, object_id=None, members=(), hidden_membership=False):
        self.id = object_id or str(uuid.uuid4())
        self.display_name = display_name
        self.members = list(members)
        self.hidden_membership = hidden_membership

    def properties(self):
        return {
            "id": self.id,
            "displayName": self.display_name,
            "securityEnabled": True,
            "mailEnabled": False,
            "groupTypes": [],
            "visibility": "HiddenMembership" if self.hidden_membership else None,
            "deletedDateTime": None,
        }

    def transitive_users(self):
        """Every user in this group or a group nested in it, once each, depth first; nesting cycles are safe."""
        users, seen_users, seen_groups = [], set(), set()

        def walk(group):
            seen_groups.add(group.id)
            for member in group.members:
                if isinstance(member, Group):
                    if member.id not in seen_groups:
                        walk(member)
                elif isinstance(member, User) and member.id not in seen_users:
                    seen_users.add(member.id)
                    users.append(member)
        walk(self)
        return users


class App:
    """An app registration with its credentials and the application permissions admin-consented to it."""

    def __init__(self, name, client_id, roles, client_secret=None, certificate_pem=None, directory_roles=()):
        self.name = name
        self.client_id = client_id
        self.roles = list(roles)
        # Entra admin roles assigned to the app's service principal (not in the token; Graph checks them itself).
        self.directory_roles = list(directory_roles)
        self.client_secret = client_secret
        # An app registration holds several certificates (keyCredentials), as one uploaded in the portal adds one.
        self.certificates = [x509.load_pem_x509_certificate(certificate_pem)] if certificate_pem else []

    @property
    def certificate(self):
        return self.certificates[0] if self.certificates else None

    def add_certificate(self, certificate):
        self.certificates.append(certificate)

    def certificate_for(self, thumbprint):
        """The registered certificate with this x5t or x5t#S256, or None."""
        for certificate in self.certificates:
            if thumbprint in (_b64url(certificate.fingerprint(hashes.SHA1())),
                              _b64url(certificate.fingerprint(hashes.SHA256()))):
                return certificate
        return None

    def thumbprints(self):
        """x5t and x5t#S256 as a client assertion carries them (base64url of the SHA-1 / SHA-256 fingerprint)."""
        return {_b64url(certificate.fingerprint(algorithm)) for certificate in self.certificates
                for algorithm in (hashes.SHA1(), hashes.SHA256())}

    def may(self, permissions):
        return any(role in permissions for role in self.roles)


class Tenant:
    def __init__(self, tenant_id, domains, users, apps, groups=()):
        self.tenant_id = tenant_id
        self.domains = [d.lower() for d in domains]
        self.apps = {app.client_id: app for app in apps}
        self._users = []
        self._by_key = {}
        self._groups = []
        self.oauth2_grants = []  # delegated permission grants (oAuth2PermissionGrant JSON)
        self.lock = threading.Lock()
        self.add_users(users)
        for group in groups:
            self.add_group(group)

    def add_users(self, users):
        with self.lock:
            for user in users:
                self._users.append(user)
                self._by_key[user.id.lower()] = user
                self._by_key[user.user_principal_name.lower()] = user

    def add_group(self, group):
        with self.lock:
            self._groups.append(group)

    def find_group(self, object_id):
        return next((group for group in self._groups if group.id.lower() == object_id.lower()), None)

    def groups_named(self, display_name):
        """Groups whose displayName equals ``display_name``; directory string comparisons ignore case."""
        return [group for group in self._groups if group.display_name.lower() == display_name.lower()]

    def make_nested_group(self, display_name, user_count, nested=3, prefix=None):
        """A new group of ``user_count`` new users spread over itself and a chain of ``nested`` groups inside it
        (one user also sits in two of them, so the transitive listing must list it once)."""
        prefix = prefix or "".join(ch for ch in display_name.lower() if ch.isalnum())[:16] or "member"
        users = [User("%s%05d@%s" % (prefix, n, self.domains[0]), None, "%s %d" % (display_name, n))
                 for n in range(1, user_count + 1)]
        self.add_users(users)
        levels = [Group(display_name)] + [Group("%s - nested %d" % (display_name, n)) for n in range(1, nested + 1)]
        for parent, child in zip(levels, levels[1:]):
            parent.members.append(child)
        for n, user in enumerate(users):
            levels[n % len(levels)].members.append(user)
        if len(levels) > 1 and users:
            levels[-1].members.append(users[0])
        for group in levels:
            self.add_group(group)
        return levels[0], users

    def knows_tenant(self, name):
        return name.lower() == self.tenant_id or name.lower() in self.domains

    def find_user(self, key):
        """By object ID or UPN, case-insensitively, as Graph resolves {id | userPrincipalName}."""
        return self._by_key.get(key.lower())

    def revoke_sessions(self, user, keep_timestamp=False):
        """Graph's revoke: the timestamp becomes now (unless a fault keeps it, to show verify catching that)."""
        with self.lock:
            if not keep_timestamp:
                user.sign_in_sessions_valid_from = graph_time()
            user.revocations += 1

    def set_account_enabled(self, user, enabled):
        with self.lock:
            user.account_enabled = enabled
            user.account_enabled_writes += 1

    @property
    def users(self):
        return list(self._users)

    @property
    def groups(self):
        return list(self._groups)

    @classmethod
    def load(cls, path):
        """A tenant from JSON: {"tenant_id", "domains", "users": [{"userPrincipalName", "id"?, "userType"?}],
        "apps": [{"name", "client_id", "roles", "client_secret"?, "certificate_path"?}]}."""
        with open(path) as handle:
            data = json.load(handle)
        users = [User(u["userPrincipalName"], u.get("id"), u.get("displayName"), u.get("userType", "Member"),
                      u.get("onPremisesSyncEnabled"), u.get("adminRoles", ()))
                 for u in data["users"]]
        apps = []
        for a in data["apps"]:
            pem = None
            if a.get("certificate_path"):
                with open(a["certificate_path"], "rb") as handle:
                    pem = handle.read()
            apps.append(App(a["name"], a["client_id"], a["roles"], a.get("client_secret"), pem,
                            a.get("directory_roles", ())))
        return cls(data["tenant_id"], data.get("domains", []), users, apps)


def _self_signed(common_name):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    return key, cert


CHAIN_PARTS = ("key", "leaf", "intermediate", "root")


def _issue(subject, issuer_name, public_key, signing_key, is_ca):
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
            .sign(signing_key, hashes.SHA256()))


def write_certificate_chain(directory, app, file_format, order, password=None):
    """A new key with a leaf certificate issued by a new intermediate and root CA, the leaf registered on ``app``;
    written as PEM blocks or PKCS#12 bags in ``order`` (names from CHAIN_PARTS, e.g. key, root, leaf as some
    vaults export). In a PKCS#12 file the certificates carry no localKeyId: nothing but the public key ties the
    leaf to the key. Returns the file's path and the leaf."""
    unknown = [part for part in order if part not in CHAIN_PARTS]
    if unknown or "key" not in order or "leaf" not in order or len(set(order)) != len(order):
        raise ValueError("order must name key and leaf once each, and maybe intermediate and root, not %r" % (order,))
    root_key, intermediate_key, key = (rsa.generate_private_key(public_exponent=65537, key_size=2048)
                                       for dummy in range(3))
    root = _issue("o365-admin test root CA", "o365-admin test root CA", root_key.public_key(), root_key, True)
    intermediate = _issue("o365-admin test issuing CA", "o365-admin test root CA", intermediate_key.public_key(),
                          root_key, True)
    leaf = _issue(app.name + " (chain)", "o365-admin test issuing CA", key.public_key(), intermediate_key, False)
    certificates = {"leaf": leaf, "intermediate": intermediate, "root": root}
    encryption = (serialization.BestAvailableEncryption(password.encode()) if password
                  else serialization.NoEncryption())
    if file_format == "pem":
        blocks = [key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
                  if part == "key" else certificates[part].public_bytes(serialization.Encoding.PEM) for part in order]
        data = b"".join(blocks)
    elif file_format == "pfx":
        data = pkcs12.serialize_key_and_certificates(
            b"chain", key, None, [certificates[part] for part in order if part != "key"], encryption)
    else:
        raise ValueError("format must be pem or pfx, not %r" % (file_format,))
    path = os.path.join(directory, "chain-%s.%s" % (uuid.uuid4().hex[:8], file_format))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    app.add_certificate(leaf)
    return path, leaf


def write_client_certificate(state_dir, stem, common_name):
    """A fresh key + self-signed certificate as PEM (key and cert in one file) and as password-protected PFX."""
    key, cert = _self_signed(common_name)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    pem_path = os.path.join(state_dir, stem + ".pem")
    pfx_path = os.path.join(state_dir, stem + ".pfx")
    for path, data in ((pem_path, key_pem + cert_pem), (pfx_path, pkcs12.serialize_key_and_certificates(
            stem.encode(), key, cert, None, serialization.BestAvailableEncryption(DEMO_PFX_PASSWORD.encode())))):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    return pem_path, pfx_path, cert_pem


def add_exposure(adele, alex):
    """The demo's doors left open: Adele has an authenticator and a phone, owns an app with a client secret and a
    laptop she registered; Alex registered a phone."""
    adele.authentication_methods += [
        {"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
         "id": "6c8a9b2e-1d3f-4a5b-8c7d-9e0f1a2b3c4d", "displayName": "Adele's phone"},
        {"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": "3179e48a-750b-4051-897c-87b9720928f7",
         "phoneNumber": "+1 2065555555", "phoneType": "mobile"}]
    adele.owned_objects.append({
        "@odata.type": "#microsoft.graph.application", "id": "7d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a",
        "appId": "8e2f3a4b-5c6d-4e7f-9a8b-0c1d2e3f4a5b", "displayName": "Adele's mail sync",
        "passwordCredentials": [{"keyId": "9f3a4b5c-6d7e-4f8a-8b9c-1d2e3f4a5b6c", "displayName": "sync secret",
                                 "endDateTime": "2027-06-01T00:00:00Z", "hint": "Xy~"}],
        "keyCredentials": []})
    laptop = {"@odata.type": "#microsoft.graph.device", "id": "0a4b5c6d-7e8f-4a9b-8c0d-2e3f4a5b6c7d",
              "deviceId": "1b5c6d7e-8f9a-4b0c-9d1e-3f4a5b6c7d8e", "displayName": "ADELE-LAPTOP",
              "operatingSystem": "Windows", "trustType": "AzureAd", "isManaged": True, "accountEnabled": True}
    adele.registered_devices.append(laptop)
    adele.owned_devices.append(laptop)
    alex.registered_devices.append({
        "@odata.type": "#microsoft.graph.device", "id": "2c6d7e8f-9a0b-4c1d-8e2f-4a5b6c7d8e9f",
        "deviceId": "3d7e8f9a-0b1c-4d2e-9f3a-5b6c7d8e9f0a", "displayName": "Alex's iPhone",
        "operatingSystem": "iOS", "trustType": "Workplace", "isManaged": False, "accountEnabled": True})


def demo_tenant(state_dir, extra_users=0):
    """The doc's cases: plain, $-prefixed, apostrophe and B2B guest UPNs; apps with a secret, a certificate, and
    without the revoke permission. Secrets are new at each start. ``extra_users`` adds user0001@... for load."""
    users = [
        User("adele.vance@" + DEMO_DOMAIN, "6e7b768e-07e2-4810-8459-485f84f8f204", "Adele Vance"),
        User("alex.wilber@" + DEMO_DOMAIN, "87d349ed-44d7-43e1-9a83-5f2406dee5bd", "Alex Wilber"),
        User("$svc-legacy@" + DEMO_DOMAIN, "1b5e7a3c-9d2f-4c6b-8a0e-2f4d6b8c0e1a", "Legacy service account"),
        User("megan.o'brien@" + DEMO_DOMAIN, "5c2e9b7d-3f1a-4e8c-b6d0-7a9e1c3b5d7f", "Megan O'Brien"),
        User("AdeleVance_adatum.com#EXT#@" + DEMO_DOMAIN, "3f9a1c5e-7b2d-4f6a-8c0e-4d6b8a0c2e4f",
             "Adele Vance (Adatum)", user_type="Guest"),
        User("pradeep.gupta@" + DEMO_DOMAIN, "9a4c6e8b-0d2f-4b1a-8c3e-5f7a9b1d3e5c", "Pradeep Gupta (synced from AD)",
             on_premises_sync_enabled=True),
        User("it.admin@" + DEMO_DOMAIN, "4d6f8a0c-2e4b-4d8f-9a1c-3e5b7d9f1a2c", "IT Admin (Global Administrator)",
             admin_roles=["Global Administrator"]),
    ]
    users += [User("user%04d@%s" % (n, DEMO_DOMAIN), str(uuid.UUID(int=n + 1)), "Load user %d" % n)
              for n in range(1, extra_users + 1)]
    by_upn = {user.user_principal_name.split("@")[0]: user for user in users}
    add_exposure(by_upn["adele.vance"], by_upn["alex.wilber"])
    payables = Group("Finance - Payables", FINANCE_PAYABLES_GROUP_ID,
                     [by_upn["alex.wilber"]] + [by_upn.get("user%04d" % n) for n in (3, 4)])
    finance = Group("Finance", FINANCE_GROUP_ID, [by_upn["adele.vance"], by_upn["AdeleVance_adatum.com#EXT#"],
                                                  payables] + [by_upn.get("user%04d" % n) for n in (1, 2, 3)])
    groups = [
        finance, payables,
        Group("Contractors", CONTRACTORS_GROUP_IDS[0], [by_upn.get("user0005")]),
        Group("Contractors", CONTRACTORS_GROUP_IDS[1], [by_upn.get("user0006")]),
        Group("Board", BOARD_GROUP_ID, [by_upn["megan.o'brien"]], hidden_membership=True),
        Group("Kiosk devices", KIOSK_DEVICES_GROUP_ID, [
            DirectoryObject("#microsoft.graph.device", "KIOSK-01"),
            DirectoryObject("#microsoft.graph.device", "KIOSK-02")]),
        Group("Empty group", EMPTY_GROUP_ID, []),
        Group("Helpdesk", HELPDESK_GROUP_ID, [
            DirectoryObject("#microsoft.graph.device", "HD-LAPTOP-7"),
            DirectoryObject("#microsoft.graph.orgContact", "Vendor support"),
            DirectoryObject("#microsoft.graph.servicePrincipal", "Ticketing connector"),
            by_upn.get("user0007")]),
    ]
    for group in groups:
        group.members = [member for member in group.members if member is not None]
    pem_path, pfx_path, cert_pem = write_client_certificate(state_dir, "demo-app", "o365-admin-demo-app")
    apps = [
        App("o365-admin-demo", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            ["User.RevokeSessions.All", "User.Read.All", "GroupMember.Read.All", "Member.Read.Hidden"],
            client_secret="demo~" + secrets.token_urlsafe(24), certificate_pem=cert_pem),
        App("revoke-and-groups", "3d4e5f6a-7b8c-4d9e-8fa0-2b3c4d5e6f7a",
            ["User.RevokeSessions.All", "User.Read.All", "GroupMember.Read.All"],
            client_secret="groups~" + secrets.token_urlsafe(24)),
        App("reader-only", "1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e", ["User.Read.All"],
            client_secret="reader~" + secrets.token_urlsafe(24)),
        App("revoke-only", "2c3d4e5f-6a7b-4c8d-ae9f-1a2b3c4d5e6f", ["User.RevokeSessions.All"],
            client_secret="revoke~" + secrets.token_urlsafe(24)),
        # Least permissions of o365_user_sign_in: enable/disable accounts and read them.
        App("sign-in-only", "5f6a7b8c-9d0e-4f1a-8b2c-4d5e6f7a8b9c", ["User.EnableDisableAccount.All", "User.Read.All"],
            client_secret="signin~" + secrets.token_urlsafe(24)),
        # Both write permissions and nothing to read with: an emergency must still block and revoke.
        App("writes-only", "6a7b8c9d-0e1f-4a2b-9c3d-5e6f7a8b9c0d",
            ["User.EnableDisableAccount.All", "User.RevokeSessions.All"],
            client_secret="writes~" + secrets.token_urlsafe(24)),
        # The contain_user role's app: block, revoke, read; GroupMember.Read.All for groups.
        App("containment", "4e5f6a7b-8c9d-4e0f-9a1b-3c4d5e6f7a8b",
            ["User.EnableDisableAccount.All", "User.RevokeSessions.All", "User.Read.All", "GroupMember.Read.All"],
            client_secret="contain~" + secrets.token_urlsafe(24)),
        # Event-driven containment (issue 19): read and act on Identity Protection's risk, and contain.
        App("risk-responder", "8c9d0e1f-2a3b-4c4d-9e5f-7a8b9c0d1e2f",
            ["IdentityRiskyUser.ReadWrite.All", "User.EnableDisableAccount.All", "User.RevokeSessions.All",
             "User.Read.All", "GroupMember.Read.All"],
            client_secret="risk~" + secrets.token_urlsafe(24)),
        App("risk-reader", "9d0e1f2a-3b4c-4d5e-8f6a-8b9c0d1e2f3a", ["IdentityRiskyUser.Read.All", "User.Read.All"],
            client_secret="riskread~" + secrets.token_urlsafe(24)),
        # Proving a containment (issue 27): audit and sign-in logs need AuditLog.Read.All (sign-ins also
        # Directory.Read.All); audit-only lacks Directory.Read.All, so its sign-in reads are refused.
        App("evidence", "7b8c9d0e-1f2a-4b3c-8d4e-6f7a8b9c0d1e", ["AuditLog.Read.All", "Directory.Read.All"],
            client_secret="evidence~" + secrets.token_urlsafe(24)),
        App("audit-only", "0e1f2a3b-4c5d-4e6f-9a7b-9c0d1e2f3a4b", ["AuditLog.Read.All"],
            client_secret="auditonly~" + secrets.token_urlsafe(24)),
        # What a revoke did not close (issue 27): users, methods, grants, owned objects, devices; the second app
        # lacks UserAuthenticationMethod.Read.All, so that part alone is refused.
        App("exposure", "1f2a3b4c-5d6e-4f7a-8b9c-0d1e2f3a4b5c",
            ["User.Read.All", "UserAuthenticationMethod.Read.All", "Directory.Read.All"],
            client_secret="exposure~" + secrets.token_urlsafe(24)),
        App("exposure-no-methods", "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d", ["User.Read.All", "Directory.Read.All"],
            client_secret="exposurenm~" + secrets.token_urlsafe(24)),
    ]
    tenant = Tenant(DEMO_TENANT_ID, [DEMO_DOMAIN], users, apps, groups)
    # Adele consented to a mail client on her own behalf (consentType Principal): it keeps its grant after a revoke.
    tenant.oauth2_grants.append({"id": "E3NHhUPqfUy4pFT-010LYAI5-ycA-_5Fhl7nHbaJ7qACy1R9o6oWQJ-cpLSUIt2b",
                                 "clientId": "85477313-ea43-4c7d-b8a4-54fed35d0b60", "consentType": "Principal",
                                 "principalId": by_upn["adele.vance"].id,
                                 "resourceId": "27fb395a-fb00-45fe-865e-e8d1d8c4b9e3",
                                 "scope": "Mail.ReadWrite offline_access"})
    tenant.certificate_files = {"pem": pem_path, "pfx": pfx_path, "pfx_password": DEMO_PFX_PASSWORD}
    return tenant
