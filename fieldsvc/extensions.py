"""Flask extensions, created unbound and initialised in the app factory."""

from typing import TYPE_CHECKING

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Session

from fieldsvc.models.base import Base

if TYPE_CHECKING:

    class RequestSession(Session):
        """The scoped session's interface: a Session, plus `remove()` at the end of use."""

        def remove(self) -> None: ...

else:
    RequestSession = Session


class Database(SQLAlchemy):
    """Flask-SQLAlchemy, with the request's session typed as the services take it.

    `db.session` is a scoped_session: a proxy that forwards every Session method to the
    current request's session, so services annotated with `Session` accept it.
    """

    session: RequestSession  # type: ignore[assignment]


db = Database(model_class=Base)
migrate = Migrate()
