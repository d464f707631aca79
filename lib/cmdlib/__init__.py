"""Logical units, one module per area, and the table that maps opcodes to them."""

from __future__ import annotations

from ganeti.cmdlib import cluster, cluster_verify, crypto, group, node, os as os_lu, query, tags, test

LU_CLASSES = {
    "OP_CLUSTER_POST_INIT": cluster.LUClusterPostInit,
    "OP_CLUSTER_DESTROY": cluster.LUClusterDestroy,
    "OP_CLUSTER_QUERY": cluster.LUClusterQuery,
    "OP_CLUSTER_CONFIG_QUERY": cluster.LUClusterConfigQuery,
    "OP_CLUSTER_SET_PARAMS": cluster.LUClusterSetParams,
    "OP_CLUSTER_REDIST_CONF": cluster.LUClusterRedistConf,
    "OP_CLUSTER_RENAME": cluster.LUClusterRename,
    "OP_CLUSTER_RENEW_CRYPTO": crypto.LUClusterRenewCrypto,
    "OP_CLUSTER_VERIFY": cluster_verify.LUClusterVerify,
    "OP_CLUSTER_VERIFY_CONFIG": cluster_verify.LUClusterVerifyConfig,
    "OP_CLUSTER_VERIFY_GROUP": cluster_verify.LUClusterVerifyGroup,
    "OP_CLUSTER_VERIFY_DISKS": cluster_verify.LUClusterVerifyDisks,
    "OP_GROUP_VERIFY_DISKS": cluster_verify.LUGroupVerifyDisks,
    "OP_OS_DIAGNOSE": os_lu.LUOsDiagnose,
    "OP_NODE_ADD": node.LUNodeAdd,
    "OP_NODE_REMOVE": node.LUNodeRemove,
    "OP_NODE_SET_PARAMS": node.LUNodeSetParams,
    "OP_NODE_POWERCYCLE": node.LUNodePowercycle,
    "OP_NODE_QUERY_STORAGE": node.LUNodeQueryStorage,
    "OP_GROUP_ADD": group.LUGroupAdd,
    "OP_GROUP_SET_PARAMS": group.LUGroupSetParams,
    "OP_GROUP_REMOVE": group.LUGroupRemove,
    "OP_GROUP_RENAME": group.LUGroupRename,
    "OP_GROUP_ASSIGN_NODES": group.LUGroupAssignNodes,
    "OP_QUERY": query.LUQuery,
    "OP_QUERY_FIELDS": query.LUQueryFields,
    "OP_TAGS_GET": tags.LUTagsGet,
    "OP_TAGS_SET": tags.LUTagsSet,
    "OP_TAGS_DEL": tags.LUTagsDel,
    "OP_TAGS_SEARCH": tags.LUTagsSearch,
    "OP_TEST_DELAY": test.LUTestDelay,
    "OP_TEST_JQUEUE": test.LUTestJqueue,
    "OP_TEST_DUMMY": test.LUTestDummy,
}
