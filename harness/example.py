"""The sample's example request, defined once: its car paragraph and the question about it.

A deploy prints it as its curl line, ``python -m harness invoke`` (and ``make invoke``) sends it
when no question or context is given, the benchmark asks it, and the tests import it. Every model
of the project's catalogs answers it with the year 1886. The root stacks' ``curl_command`` output
spells its own shorter copy in ``terraform/_shared/locals.tf``: Terraform cannot import Python,
and the working copy the harness runs under the state folder cannot reach a file of the repository.
"""

from __future__ import annotations

CAR_QUESTION = "When was the car invented?"
CAR_CONTEXT = (
    "Cars came into global use during the 20th century, and developed economies depend on them. "
    "The year 1886 is regarded as the birth year of the modern car when German inventor Karl Benz "
    "patented his Benz Patent-Motorwagen. Cars became widely available in the early 20th century. "
    "One of the first cars accessible to the masses was the 1908 Model T, an American car manufactured "
    "by the Ford Motor Company. Cars were rapidly adopted in the US, where they replaced animal-drawn "
    "carriages and carts, but took much longer to be accepted in Western Europe and other parts of the world."
)
EXAMPLE_MODEL_TYPE = "nlp1"


def example_payload(model_type: str = EXAMPLE_MODEL_TYPE) -> dict[str, str]:
    """The API's request body for the example: ``{"model_type", "question", "context"}``."""
    return {"model_type": model_type, "question": CAR_QUESTION, "context": CAR_CONTEXT}
