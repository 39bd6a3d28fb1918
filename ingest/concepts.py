"""Ingest stage: load and validate the concept glossary (`concepts.yaml`) against the catalog."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingest.catalog import Catalog, CatalogError, read_yaml_list

CONCEPTS_FILE = "concepts.yaml"


class Concept(BaseModel):
    """One ML-system-design concept: what it is, why it matters, what teaches it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$", max_length=80)
    name: str = Field(min_length=2)
    aliases: tuple[str, ...] = ()
    definition: str = Field(min_length=80)
    why: str = Field(min_length=40)
    related: tuple[str, ...] = ()
    resources: tuple[str, ...] = Field(min_length=1)
    # How a learner asks about it without knowing its name ("why did my model get worse months
    # after launch?"). Matched by meaning: a question is closer to another question than to a
    # definition, so these carry paraphrases the name and definition miss (doc2query-style).
    questions: tuple[str, ...] = ()

    @field_validator("definition")
    @classmethod
    def _two_to_four_sentences(cls, value: str) -> str:
        # A definition a reader takes in at a glance: 2-4 sentences (counted by full stops).
        sentences = [s for s in value.replace("e.g.", "eg").split(". ") if s.strip()]
        if not 2 <= len(sentences) <= 4:
            raise ValueError(f"a definition has 2 to 4 sentences, this one has {len(sentences)}")
        return value

    @field_validator("questions")
    @classmethod
    def _questions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for question in value:
            if not question.strip().endswith("?") or len(question.split()) < 4:
                raise ValueError(f"a question of four words or more ending in '?': {question!r}")
        return value

    @property
    def names(self) -> tuple[str, ...]:
        """The name and every alias: the strings a question may use for this concept."""
        return (self.name, *self.aliases)


class ConceptError(CatalogError):
    """`concepts.yaml` is invalid; the message names the file, the entry and the field."""


def load_concepts(corpus_dir: Path, catalog: Catalog) -> dict[str, Concept]:
    """Load `concepts.yaml` (none if the corpus has no such file); unknown ids fail loudly."""
    path = corpus_dir / CONCEPTS_FILE
    if not path.is_file():
        return {}
    raws = read_yaml_list(path, "concepts", ConceptError)
    concepts: dict[str, Concept] = {}
    for index, raw in enumerate(raws):
        entry_id = raw.get("id", "?") if isinstance(raw, dict) else "?"
        entry = f"{path}: entry #{index + 1} (id '{entry_id}')"
        try:
            concept = Concept.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"field '{'.'.join(str(p) for p in err['loc']) or '(entry)'}': {err['msg']}"
                for err in exc.errors()
            )
            raise ConceptError(f"{entry}: {problems}") from exc
        if concept.id in concepts:
            raise ConceptError(f"{entry}: field 'id': duplicate, already used by an earlier entry")
        unknown = sorted(set(concept.resources) - set(catalog.resources))
        if unknown:
            raise ConceptError(f"{entry}: field 'resources': unknown resource id(s) {unknown}")
        concepts[concept.id] = concept
    every = set(concepts)
    for index, concept in enumerate(concepts.values()):
        unknown = sorted(set(concept.related) - every)
        if unknown:
            raise ConceptError(
                f"{path}: entry #{index + 1} (id '{concept.id}'): field 'related': "
                f"unknown concept id(s) {unknown}"
            )
    return concepts
