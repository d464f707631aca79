"""Tag logical units for every taggable object kind."""

from __future__ import annotations

import re

from ganeti import constants, errors, locking
from ganeti.cmdlib.base import NoHooksLU
from ganeti.objects import touch

_TAG_RE = re.compile(r"^[\w.+*/:@-]+$")


def check_tag(tag: str) -> None:
    if not isinstance(tag, str) or not tag:
        raise errors.TagError("Invalid tag: empty tag")
    if len(tag) > constants.MAX_TAG_LEN:
        raise errors.TagError("Tag too long (>%d characters)" % constants.MAX_TAG_LEN)
    if not _TAG_RE.match(tag):
        raise errors.TagError("Tag contains invalid characters")


class _TagsLU(NoHooksLU):
    def expand_names(self) -> None:
        self.needed_locks = {}
        kind = self.op.kind
        name = self.op.name
        if kind != constants.TAG_CLUSTER and not name:
            raise errors.OpPrereqError("Missing name for %s tags" % kind, errors.ECODE_INVAL)
        if kind == constants.TAG_NODE:
            uuid, self.op.name = self.expand_node(name)
            self.needed_locks[locking.LEVEL_NODE] = [uuid]
            self._uuid = uuid
        elif kind == constants.TAG_INSTANCE:
            found = self.cfg.expand_instance_name(name)
            if found is None:
                raise errors.OpPrereqError("Instance '%s' not known" % name, errors.ECODE_NOENT)
            self._uuid, self.op.name = found
            self.needed_locks[locking.LEVEL_INSTANCE] = [self._uuid]
        elif kind == constants.TAG_NODEGROUP:
            self._uuid = self.cfg.lookup_node_group(name)
            self.needed_locks[locking.LEVEL_NODEGROUP] = [self._uuid]
        elif kind == constants.TAG_NETWORK:
            matches = [u for u, n in self.cfg.data.networks.items() if n.name == name or u == name]
            if not matches:
                raise errors.OpPrereqError("Network '%s' not found" % name, errors.ECODE_NOENT)
            self._uuid = matches[0]
            self.needed_locks[locking.LEVEL_NETWORK] = [self._uuid]
        if getattr(self.op, "use_locking", True) is False:
            self.needed_locks = {}
        elif self.OP_SHARED:
            self.share_all()

    OP_SHARED = True

    def target(self):
        data = self.cfg.data
        kind = self.op.kind
        if kind == constants.TAG_CLUSTER:
            return data.cluster
        table = {constants.TAG_NODE: data.nodes, constants.TAG_INSTANCE: data.instances,
                 constants.TAG_NODEGROUP: data.nodegroups, constants.TAG_NETWORK: data.networks}
        return table[kind][self._uuid]


class LUTagsGet(_TagsLU):
    def exec(self, feedback_fn):
        return sorted(self.target().get_tags())


class LUTagsSet(_TagsLU):
    OP_SHARED = False

    def check_prereq(self) -> None:
        for tag in self.op.tags:
            try:
                check_tag(tag)
            except errors.TagError as err:
                raise errors.OpPrereqError("Invalid tag '%s': %s" % (tag, err), errors.ECODE_INVAL)
        obj = self.target()
        if len(obj.get_tags() | set(self.op.tags)) > constants.MAX_TAGS_PER_OBJ:
            raise errors.OpPrereqError("Too many tags", errors.ECODE_STATE)

    def exec(self, feedback_fn):
        with self.cfg.lock:
            obj = self.target()
            for tag in self.op.tags:
                obj.add_tag(tag)
            touch(obj)
            self.cfg.write()


class LUTagsDel(_TagsLU):
    OP_SHARED = False

    def check_prereq(self) -> None:
        missing = set(self.op.tags) - self.target().get_tags()
        if missing:
            raise errors.OpPrereqError("Tag(s) %s not found" % ", ".join(
                "'%s'" % t for t in sorted(missing)), errors.ECODE_NOENT)

    def exec(self, feedback_fn):
        with self.cfg.lock:
            obj = self.target()
            for tag in self.op.tags:
                obj.remove_tag(tag)
            touch(obj)
            self.cfg.write()


class LUTagsSearch(NoHooksLU):
    def check_arguments(self) -> None:
        try:
            self._re = re.compile(self.op.pattern)
        except re.error as err:
            raise errors.OpPrereqError("Invalid search pattern '%s': %s" % (self.op.pattern, err),
                                       errors.ECODE_INVAL)

    def exec(self, feedback_fn):
        data = self.cfg.data
        objs = [("/cluster", data.cluster)]
        objs += [("/instances/%s" % i.name, i) for i in list(data.instances.values())]
        objs += [("/nodes/%s" % n.name, n) for n in data.nodes.values()]
        objs += [("/nodegroup/%s" % g.name, g) for g in data.nodegroups.values()]
        objs += [("/network/%s" % n.name, n) for n in data.networks.values()]
        out = []
        for path, obj in objs:
            for tag in sorted(obj.get_tags()):
                if self._re.search(tag):
                    out.append([path, tag])
        return out
