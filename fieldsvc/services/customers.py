"""Customers and sites."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.models import Customer
from fieldsvc.services.phones import phone_key


def _sync_keys(customer: Customer) -> None:
    customer.phone_key = phone_key(customer.phone)
    customer.mobile_key = phone_key(customer.mobile)


def create_customer(session: Session, data: dict[str, Any], actor: Actor) -> Customer:
    customer = Customer(**data)
    _sync_keys(customer)
    session.add(customer)
    return customer


def update_customer(session: Session, customer: Customer, data: dict[str, Any],
                    actor: Actor) -> Customer:
    for key, value in data.items():
        setattr(customer, key, value)
    _sync_keys(customer)
    return customer
