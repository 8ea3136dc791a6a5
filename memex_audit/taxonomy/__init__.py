"""Failure taxonomies: YAML files of categories with definitions and offline signals."""

from memex_audit.taxonomy._load import (
    ENV_VAR,
    available_taxonomies,
    load_taxonomy,
    parse_taxonomy,
    read_taxonomy,
    shipped_taxonomy_dir,
    taxonomy_dirs,
)
from memex_audit.taxonomy._models import SIGNAL_KINDS, UNCLASSIFIED, Category, Group, SignalKind, Taxonomy

__all__ = [
    "ENV_VAR",
    "SIGNAL_KINDS",
    "UNCLASSIFIED",
    "Category",
    "Group",
    "SignalKind",
    "Taxonomy",
    "available_taxonomies",
    "load_taxonomy",
    "parse_taxonomy",
    "read_taxonomy",
    "shipped_taxonomy_dir",
    "taxonomy_dirs",
]
