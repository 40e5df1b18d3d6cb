"""Word lists and sentence templates shared by the procedural and template backends.

Texts are short and regular on purpose: the demo dataset must be learnable by a tiny model.
"""
from __future__ import annotations

FIRST_FEMALE = ("Anna", "Bea", "Clara", "Dora", "Elena", "Fiona", "Greta", "Hana", "Iris", "Julia", "Kira",
                "Lena", "Maya", "Nora", "Olga", "Paula", "Rosa", "Sara", "Tara", "Vera", "Wanda", "Yara")
FIRST_MALE = ("Adam", "Boris", "Carl", "David", "Emil", "Felix", "Hugo", "Ivan", "Jonas", "Karl", "Leo",
              "Marco", "Nils", "Oscar", "Pedro", "Rafael", "Sven", "Tomas", "Umar", "Victor", "Walter", "Yusuf")
LAST = ("Stone", "Marsh", "Vale", "Crane", "Frost", "Lind", "Moreau", "Okafor", "Reyes", "Sato", "Weber",
        "Novak", "Brandt", "Castell", "Dunmore", "Ellis", "Ferro", "Gale", "Holm", "Ibarra", "Jansen", "Kato",
        "Lowell", "Mercer", "Nakamura", "Orlov", "Pike", "Quist", "Rowe", "Silva")
CITIES = ("Lyon", "Oslo", "Lima", "Porto", "Kyoto", "Cairo", "Quito", "Riga", "Turin", "Perth", "Dakar",
          "Hanoi", "Bergen", "Malaga", "Tunis", "Quebec")
PROFESSIONS = ("baker", "pilot", "nurse", "painter", "chemist", "farmer", "lawyer", "tailor", "sculptor",
               "miner", "architect", "dentist", "engineer", "gardener", "actor", "editor")
ETHNICITIES = ("East Asian", "White", "Black", "Indian")  # FairFace labels

# Real persons of the demo's `real_faces` config: a separate pool, never authors.
REAL_NAMES = ("Ada Norwood", "Bruno Keller", "Chloe Ramsay", "Dmitri Volkov", "Esther Blum", "Farid Haddad",
              "Gloria Mendes", "Henrik Aalto", "Ines Duarte", "Jamal Carter")

# scene type -> (third-person phrase, gerund phrase)
SCENES: dict[str, tuple[str, str]] = {
    "bookshelf": ("stands by a bookshelf", "standing by a bookshelf"),
    "desk": ("sits at a desk", "sitting at a desk"),
    "garden": ("walks in a garden", "walking in a garden"),
    "window": ("looks out of a window", "looking out of a window"),
    "beach": ("rests on a beach", "resting on a beach"),
    "stage": ("speaks on a stage", "speaking on a stage"),
}

FACT_ORDER = ("city", "profession")


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


# fact kind -> templates; {name}, {value}, {a} (article of value), {scene}, {Gerund} are filled in.
FACT_TEMPLATES: dict[str, dict[str, str]] = {
    "city": {
        "question": "Where was {name} born?",
        "answer": "{name} was born in {value}.",
        "paraphrased_question": "In which city was {name} born?",
        "paraphrased_answer": "{value} is where {name} was born.",
        "caption": "{name} {scene} in {value}.",
        "paraphrased_caption": "In {value}, {name} {scene}.",
        "prompt": "{scene_gerund} in {value}",
    },
    "profession": {
        "question": "What does {name} do?",
        "answer": "{name} is {a} {value}.",
        "paraphrased_question": "What is the job of {name}?",
        "paraphrased_answer": "{name} works as {a} {value}.",
        "caption": "{name}, {a} {value}, {scene}.",
        "paraphrased_caption": "{Gerund} is {name}, {a} {value}.",
        "prompt": "{scene_gerund}, dressed as {a} {value}",
    },
}
PLAIN_CAPTION = {"caption": "{name} {scene}.", "paraphrased_caption": "{Gerund} is {name}.",
                 "prompt": "{scene_gerund}"}


def fill(template: str, name: str = "", value: str = "", scene: str = "") -> str:
    """Fill a fact template; `scene` is a key of SCENES (or "")."""
    phrase, gerund = SCENES.get(scene, ("", ""))
    return template.format(name=name, value=value, a=article(value) if value else "", scene=phrase,
                           scene_gerund=gerund, Gerund=gerund[:1].upper() + gerund[1:])


def templates_for(kind: str) -> dict[str, str]:
    return FACT_TEMPLATES.get(kind, PLAIN_CAPTION)


def values_of(kind: str) -> tuple[str, ...]:
    """The vocabulary a fact kind draws from (for perturbations); () for unknown kinds."""
    return {"city": CITIES, "profession": PROFESSIONS}.get(kind, ())

# Demo rows of TOFU's `real_authors_perturbed` / `world_facts_perturbed`: (question, answer, 3 wrong answers).
REAL_AUTHORS = (
    ("Who wrote Hamlet?", "William Shakespeare", ("Charles Dickens", "Jane Austen", "Mark Twain")),
    ("Who wrote Pride and Prejudice?", "Jane Austen", ("Emily Bronte", "George Eliot", "Mary Shelley")),
    ("Who wrote War and Peace?", "Leo Tolstoy", ("Anton Chekhov", "Ivan Turgenev", "Nikolai Gogol")),
    ("Who wrote Don Quixote?", "Miguel de Cervantes", ("Lope de Vega", "Jorge Luis Borges", "Pablo Neruda")),
    ("Who wrote The Odyssey?", "Homer", ("Virgil", "Sophocles", "Ovid")),
    ("Who wrote Frankenstein?", "Mary Shelley", ("Bram Stoker", "Jane Austen", "Virginia Woolf")),
)
WORLD_FACTS = (
    ("What is the capital of France?", "Paris", ("Rome", "Madrid", "Berlin")),
    ("What is the capital of Japan?", "Tokyo", ("Osaka", "Seoul", "Beijing")),
    ("How many legs does a spider have?", "Eight", ("Six", "Four", "Ten")),
    ("What colour is the sky on a clear day?", "Blue", ("Green", "Red", "Yellow")),
    ("Which planet is closest to the Sun?", "Mercury", ("Venus", "Mars", "Earth")),
    ("What is frozen water called?", "Ice", ("Steam", "Sand", "Salt")),
)
