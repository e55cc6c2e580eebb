#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: o365_containment_record
short_description: Merge containment (or release) records of many tenants or AWX job slices into one record
version_added: 0.2.0
description:
  - Merges records of M(o365.admin.o365_containment) (its containment records, O(o365.admin.o365_containment#module:state=contained),
    or its release records, O(o365.admin.o365_containment#module:state=released)) into one record, and writes it
    under the rules of every record the collection writes. No Microsoft Graph call; the module runs where the
    records are (the controller), so it takes no credentials and is not in the C(o365.admin.graph) action group.
  - The parts are record files (O(records), e.g. the records of an AWX sliced job's slices) and the records of the
    tenant hosts of a play (O(parts), as C(playbooks/contain_tenants.yml) and C(playbooks/release_users.yml) hand
    them over).
  - "The merged record lists every tenant (C(tenants): C(host), C(tenant), C(run_id), C(failed), C(msg)): a tenant
    whose record says it failed, a host whose rescue kept a failure, and a host that handed no record (C(no record:
    ...)) are failed, with why. A tenant is failed unless its record says C(failed: false) and its host kept no
    failure. C(failed_tenants) names them."
  - Every user of every part is in C(users), each with its C(tenant), and the C(run_id) and C(incident) of the run
    that wrote it (the merged record's own C(run_id) and C(incident) are the merge's).
  - "Every part is checked before anything is written: a file that cannot be read, is not JSON or is a killed run's
    journal, a C(schema_version) other than 1 and 2, a C(kind) other than V(containment) and V(release), records of
    two kinds, records of check-mode runs beside records of real runs, and one run given twice (a record given
    twice, or a slice's record beside a merged record holding it) fail the task naming the part, with nothing
    written."
  - Once written, the task fails when a tenant failed (unless O(fail_on_failed_tenants=false)); the record and the
    result still hold every tenant.
  - The merged record is read by O(o365.admin.o365_containment#module:state=released) (O(o365.admin.o365_containment#module:records))
    and by M(o365.admin.o365_containment_evidence_info) as any containment record is.
options:
  records:
    description:
      - Record files to merge (JSON, on the host that runs the module), in this order. Records written by
        M(o365.admin.o365_containment), by the roles and playbooks that call it, or merged by this module.
      - A relative path starts in the directory ansible-playbook was run from.
    type: list
    elements: path
    default: []
  parts:
    description:
      - The records of the tenant hosts of a play, in this order, each as its host kept it; after the files of
        O(records).
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description:
          - The inventory host (the tenant's name in the inventory).
        type: str
        required: true
      tenant:
        description:
          - The tenant (its ID or domain); the tenant of users and tenant entries whose record names none.
        type: str
      record:
        description:
          - The host's record (the C(record) that M(o365.admin.o365_containment) returned, with its C(users)). Null,
            empty, or a mapping with no C(schema_version), C(kind) or C(users) when the run stopped before a record;
            the tenant is then failed, with O(parts[].failure) or C(no record) as why.
        type: raw
      failure:
        description:
          - Why the host failed (what its C(rescue) kept); the tenant is then failed, whatever its record says.
        type: str
  hosts:
    description:
      - The hosts of the play (C(ansible_play_hosts_all)). A host here that handed no entry in O(parts) (it did not
        get as far as keeping its record) is listed as a failed tenant, C(no record).
    type: list
    elements: str
    default: []
  kind:
    description:
      - The kind of the merge, V(containment) or V(release); every record must be of it. Default the first record's
        kind; needed when no part holds a record (every tenant stopped before writing one).
    type: str
    choices: [containment, release]
  report_path:
    description:
      - Where to write the merged record (JSON, mode 0600, replaced atomically). The directory must exist. A relative
        path starts in the directory ansible-playbook was run from.
      - A path that already holds a file (another run's record, or a killed run's journal) fails the task before
        anything is read, unless O(report_replace) is set; check mode never writes over a real run's record; a
        C({run_id}) in the path gives each merge a file of its own; a lock (C(.<name>.lock) beside it) refuses a
        second run on the same path while the first one writes.
      - "The record: C(schema_version) 1 for V(containment), 2 for V(release) (what the kind's own records carry
        now), C(kind), C(merged) V(true), C(module), C(run_id) (this merge's), C(runs) (the run IDs of the parts'
        runs), C(records) (the files read), C(incident), C(generated_at), C(check_mode), C(tenants),
        C(failed_tenants), C(failed), C(msg), C(summary) and C(users)."
    type: path
    required: true
    aliases: [record_path]
  report_replace:
    description:
      - Replace a record already at O(report_path) on purpose (never, in check mode, a real run's record).
    type: bool
    default: false
  incident:
    description:
      - The merged record's incident reference. Default the parts' incident references, each once, joined by
        C(, ).
    type: str
  claim_only:
    description:
      - Only check that O(report_path) can take this run's merged record - free, or O(report_replace) - and write
        nothing (no parts are needed). A play over tenants runs it first, so that a path holding another run's
        record stops the run before any Microsoft Graph call instead of after the tenants' writes.
      - With C({run_id}) in O(report_path) every run gets a new file, so the check passes.
    type: bool
    default: false
  fail_on_failed_tenants:
    description:
      - Fail the task, after the record is written, when a tenant failed. With V(false) the task succeeds and
        RV(failed_tenants) says which failed.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description:
      - The record is written in check mode too, with C(check_mode) V(true) (a dry run's record, which a release
        never acts on), and never over a real run's record.
  diff_mode:
    support: none
    description: The record is the collection's own file, not Microsoft 365's state.
seealso:
  - module: o365.admin.o365_containment
  - module: o365.admin.o365_containment_evidence_info
author:
  - o365.admin contributors (@o365-admin)
"""

EXAMPLES = r"""
- name: Merge the records of an AWX sliced job's two slices
  o365.admin.o365_containment_record:
    records:
      - slice1-record.json
      - slice2-record.json
    report_path: INC-4711-record.json

- name: Merge the record of each tenant host of this play, once every tenant has finished
  o365.admin.o365_containment_record:
    kind: containment
    # Each host kept o365_tenant_part: {host, tenant, record, failure} (see playbooks/contain_tenants.yml).
    parts: "{{ ansible_play_hosts_all | map('extract', hostvars, 'o365_tenant_part') | select('defined') }}"
    hosts: "{{ ansible_play_hosts_all }}"
    report_path: "INC-4711-{run_id}.json"
  run_once: true
  delegate_to: localhost
  register: merged
"""

RETURN = r"""
record:
  description: The merged record as written (see O(report_path)).
  returned: success, and failure after the record was merged
  type: dict
record_path:
  description: Where the record was written (absolute, C({run_id}) filled in).
  returned: success, and failure after the record was written
  type: str
  sample: /srv/incidents/INC-4711-record.json
run_id:
  description: This merge's run ID (the record's C(run_id)).
  returned: always
  type: str
  sample: 3f0e7a52-6c1d-4d5e-9a55-0d3c9e1b2a71
runs:
  description: The run IDs of the parts' runs, in order (a merged part's runs, not its own merge's).
  returned: success, and failure after the record was merged
  type: list
  elements: str
failed_tenants:
  description: The failed tenants, by host (else tenant, else record file).
  returned: success, and failure after the record was merged
  type: list
  elements: str
  sample: [adatum]
tenant_count:
  description: How many tenants the record lists.
  returned: success, and failure after the record was merged
  type: int
user_count:
  description: How many user entries the record holds.
  returned: success, and failure after the record was merged
  type: int
msg:
  description: What was merged and where it is; on failure, which tenants failed and why.
  returned: always
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.o365.admin.plugins.module_utils._errors import O365AdminError, TaskFailed
from ansible_collections.o365.admin.plugins.module_utils._record_merge import (
    KINDS, MergedRecord, host_part, merge, read_record_file)
from ansible_collections.o365.admin.plugins.module_utils._report import RUN_ID_PLACEHOLDER, new_run_id, resolve_path

PART_OPTIONS = dict(
    host=dict(type="str", required=True),
    tenant=dict(type="str"),
    record=dict(type="raw"),
    failure=dict(type="str"),
)

ARGUMENT_SPEC = dict(
    records=dict(type="list", elements="path", default=[]),
    parts=dict(type="list", elements="dict", options=PART_OPTIONS, default=[]),
    hosts=dict(type="list", elements="str", default=[]),
    kind=dict(type="str", choices=list(KINDS)),
    report_path=dict(type="path", required=True, aliases=["record_path"]),
    report_replace=dict(type="bool", default=False),
    incident=dict(type="str"),
    fail_on_failed_tenants=dict(type="bool", default=True),
    claim_only=dict(type="bool", default=False),
)


def run(module, cwd=None):
    """Claim the path, read and check every part, merge, write; the result (TaskFailed after the write when a
    tenant failed and fail_on_failed_tenants). Relative paths start in ``cwd`` (the action plugin has made them
    absolute already over a local connection)."""
    params = module.params
    run_id = new_run_id()
    if params["claim_only"] and RUN_ID_PLACEHOLDER in params["report_path"]:
        return dict(changed=False, run_id=run_id, msg="%s names a new file for every run." % params["report_path"])
    target = MergedRecord(params["report_path"], run_id, replace=params["report_replace"],
                          check_mode=module.check_mode, cwd=cwd)
    if params["claim_only"]:
        target.close()
        return dict(changed=False, run_id=run_id, msg="%s can take this run's merged record." % target.path)
    try:
        parts = [read_record_file(resolve_path(path, cwd)) for path in params["records"]]
        parts.extend(host_part(item) for item in params["parts"])
        document = merge(parts, run_id, kind=params["kind"], incident=params["incident"],
                         check_mode=module.check_mode, hosts=params["hosts"], path=target.path)
        target.write_record(document)
    finally:
        target.close()
    summary = document["summary"]
    result = dict(changed=True, record=document, record_path=target.path, run_id=run_id, runs=document["runs"],
                  failed_tenants=document["failed_tenants"], tenant_count=summary["tenant_count"],
                  user_count=summary["user_count"])
    if document["failed"] and params["fail_on_failed_tenants"]:
        raise TaskFailed(document["msg"], result)
    result["msg"] = document["msg"] or "%s%d tenant(s) and %d user(s) merged into %s." % (
        "Check mode: " if document["check_mode"] else "", summary["tenant_count"], summary["user_count"],
        target.path)
    return result


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = run(module, cwd=os.getcwd())
    except O365AdminError as error:
        module.fail_json(**error.fail_json_kwargs())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
