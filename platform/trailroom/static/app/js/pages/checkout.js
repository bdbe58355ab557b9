// Checkout: open Razorpay Checkout (live mode) and post what it returns to our return page, or
// (test mode, after paying) post the signed fields on at once.
const returnForm = document.querySelector("[data-checkout-return]");

function postBack(fields) {
  for (const name of ["razorpay_order_id", "razorpay_payment_id", "razorpay_signature"]) {
    returnForm.querySelector(`[name="${name}"]`).value = fields[name];
  }
  returnForm.submit();
}

if (returnForm && returnForm.hasAttribute("data-autosubmit")) returnForm.submit();

const open = document.querySelector("[data-razorpay-open]");
if (open && returnForm) {
  const error = document.querySelector("[data-checkout-error]");
  open.addEventListener("click", () => {
    if (typeof window.Razorpay !== "function") {
      error.textContent = "Razorpay Checkout could not load. Check your connection and reload the page.";
      error.hidden = false;
      return;
    }
    const data = open.dataset;
    const checkout = new window.Razorpay({
      key: data.key,
      order_id: data.order,
      amount: Number(data.amount),
      currency: data.currency,
      name: data.name,
      description: data.description,
      prefill: { name: data.prefillName, email: data.prefillEmail },
      handler: postBack,
      modal: { ondismiss: () => { open.disabled = false; } },
    });
    checkout.on("payment.failed", (response) => {
      error.textContent = `Payment failed: ${response.error.description}`;
      error.hidden = false;
    });
    open.disabled = true;
    checkout.open();
  });
}
